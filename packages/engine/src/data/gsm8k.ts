// GSM8K (openai/grade-school-math jsonl): {question, answer}, the final answer after "#### ".
import { parseJsonl, stringField } from './jsonl';
import { DataFormatError, type GenerationItem } from './types';

const FINAL_ANSWER = /####\s*(.+?)\s*$/;

export function parseGsm8k(text: string, file: string): GenerationItem[] {
  return parseJsonl(text, file).map((entry) => {
    const question = stringField(entry, 'question', file);
    const answer = stringField(entry, 'answer', file);
    const match = FINAL_ANSWER.exec(answer);
    if (!match) throw new DataFormatError(file, entry.line, 'field "answer" has no final answer after "#### "');
    return { question, answer, finalAnswer: match[1] };
  });
}
