// What the data readers produce: the three item shapes the protocols consume.

/** A problem with a worked solution; `finalAnswer` is what follows `#### ` in the solution. */
export interface GenerationItem {
  question: string;
  answer: string;
  finalAnswer: string;
}

/** A multiple-choice item after format-specific preprocessing: score `context` + choice continuations. */
export interface MultipleChoiceItem {
  context: string;
  /** Continuations exactly as appended to the context (the target delimiter, usually " ", included). */
  continuations: string[];
  /** Choice texts without the delimiter; acc_norm divides by their character length (as lm-eval). */
  choices: string[];
  answer: number;
}

export type Dataset =
  | { kind: 'text'; documents: string[] }
  | { kind: 'generation'; items: GenerationItem[] }
  | { kind: 'multiple-choice'; items: MultipleChoiceItem[] };

export class DataFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    message: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${message}`);
    this.name = 'DataFormatError';
  }
}
