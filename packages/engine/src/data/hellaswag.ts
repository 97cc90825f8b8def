// HellaSwag (rowanz/hellaswag jsonl) with lm-evaluation-harness's preprocessing (tasks/hellaswag/utils.py):
// query = preprocess(activity_label + ": " + ctx_a + " " + capitalize(ctx_b)), choices = preprocess(endings),
// continuation = " " + choice.
import { field, parseJsonl, stringField, describe } from './jsonl';
import { DataFormatError, type MultipleChoiceItem } from './types';

/** lm-eval's preprocess(): strip, " [title]" -> ". ", drop [bracketed] WikiHow artifacts, collapse double spaces once. */
export function preprocessHellaswag(text: string): string {
  let t = text.trim();
  t = t.split(' [title]').join('. ');
  t = t.replace(/\[.*?\]/g, '');
  t = t.split('  ').join(' ');
  return t;
}

/** Python's str.capitalize(): first character upper case, the rest lower case. */
export function pythonCapitalize(text: string): string {
  if (text.length === 0) return text;
  const [first, ...rest] = Array.from(text);
  return first.toUpperCase() + rest.join('').toLowerCase();
}

export function parseHellaswag(text: string, file: string): MultipleChoiceItem[] {
  return parseJsonl(text, file).map((entry) => {
    const ctx = stringField(entry, 'ctx_a', file) + ' ' + pythonCapitalize(stringField(entry, 'ctx_b', file));
    const context = preprocessHellaswag(stringField(entry, 'activity_label', file) + ': ' + ctx);
    const endings = field(entry, 'endings', file);
    if (!Array.isArray(endings) || endings.length < 2 || endings.some((e) => typeof e !== 'string')) {
      throw new DataFormatError(file, entry.line, `field "endings" must be an array of at least 2 strings, got ${describe(endings)}`);
    }
    const label = Number(field(entry, 'label', file));
    if (!Number.isInteger(label) || label < 0 || label >= endings.length) {
      throw new DataFormatError(file, entry.line, `field "label" must be an index into endings (0..${endings.length - 1})`);
    }
    const choices = (endings as string[]).map(preprocessHellaswag);
    return { context, choices, continuations: choices.map((c) => ' ' + c), answer: label };
  });
}
