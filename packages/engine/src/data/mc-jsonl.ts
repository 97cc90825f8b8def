// The generic multiple-choice format: one {context, choices[], answer} per line; answer is the index of
// the right choice (or the right choice's text). Continuations are " " + choice unless the context
// already ends in whitespace.
import { field, parseJsonl, stringField, describe } from './jsonl';
import { DataFormatError, type MultipleChoiceItem } from './types';

export function parseMcJsonl(text: string, file: string): MultipleChoiceItem[] {
  return parseJsonl(text, file).map((entry) => {
    const context = stringField(entry, 'context', file);
    const choices = field(entry, 'choices', file);
    if (!Array.isArray(choices) || choices.length < 2 || choices.some((c) => typeof c !== 'string')) {
      throw new DataFormatError(file, entry.line, `field "choices" must be an array of at least 2 strings, got ${describe(choices)}`);
    }
    const list = choices as string[];
    const raw = field(entry, 'answer', file);
    const answer = typeof raw === 'string' && !/^\d+$/.test(raw) ? list.indexOf(raw) : Number(raw);
    if (!Number.isInteger(answer) || answer < 0 || answer >= list.length) {
      throw new DataFormatError(file, entry.line, `field "answer" must be an index 0..${list.length - 1} or one of the choices, got ${describe(raw)}`);
    }
    const delimiter = /\s$/.test(context) ? '' : ' ';
    return { context, choices: list, continuations: list.map((c) => delimiter + c), answer };
  });
}
