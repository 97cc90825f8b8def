// ARC (AI2 jsonl: question.stem, question.choices[{text, label}], answerKey) as lm-eval's arc_easy task:
// context "Question: <stem>\nAnswer:", continuation " " + choice text.
import { field, parseJsonl, stringField, describe } from './jsonl';
import { DataFormatError, type MultipleChoiceItem } from './types';

export function parseArc(text: string, file: string): MultipleChoiceItem[] {
  return parseJsonl(text, file).map((entry) => {
    const stem = stringField(entry, 'question.stem', file);
    const raw = field(entry, 'question.choices', file);
    if (!Array.isArray(raw) || raw.length < 2) {
      throw new DataFormatError(file, entry.line, `field "question.choices" must be an array of at least 2 choices, got ${describe(raw)}`);
    }
    const choices: string[] = [];
    const labels: string[] = [];
    raw.forEach((choice, i) => {
      const c = choice as Record<string, unknown> | null;
      if (c === null || typeof c !== 'object' || typeof c.text !== 'string' || typeof c.label !== 'string') {
        throw new DataFormatError(file, entry.line, `question.choices[${i}] must be {text: string, label: string}`);
      }
      choices.push(c.text);
      labels.push(c.label);
    });
    const key = stringField(entry, 'answerKey', file);
    const answer = labels.indexOf(key);
    if (answer < 0) throw new DataFormatError(file, entry.line, `answerKey ${JSON.stringify(key)} is not one of the labels ${labels.join(', ')}`);
    return { context: `Question: ${stem}\nAnswer:`, choices, continuations: choices.map((c) => ' ' + c), answer };
  });
}
