// The one tokenizer interface the engine uses, whatever the file format behind it.
export interface EncodeOptions {
  /** Prepend the BOS id (when the tokenizer has one). */
  bos?: boolean;
}

export interface TextTokenizer {
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: number[]): string;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly vocabSize: number;
}
