// tokenizer.json (with tokenizer_config.json when present) through @huggingface/tokenizers.
import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EncodeOptions, TextTokenizer } from './types';

function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

export class HfTokenizer implements TextTokenizer {
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly vocabSize: number;
  readonly tokenizer: Tokenizer;

  /** `fallbackIds` (from config.json) fill in bos/eos when tokenizer_config.json does not name them. */
  constructor(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown> = {},
    fallbackIds: { bosId?: number | null; eosId?: number | null } = {},
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const idOf = (token: string | null): number | null =>
      token === null ? null : (this.tokenizer.token_to_id(token) ?? null);
    this.bosId = idOf(tokenContent(tokenizerConfig.bos_token)) ?? fallbackIds.bosId ?? null;
    this.eosId = idOf(tokenContent(tokenizerConfig.eos_token)) ?? fallbackIds.eosId ?? null;
    let maxId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
  }

  /** Loads `dir`/tokenizer.json and, when present, tokenizer_config.json. */
  static load(dir: string, fallbackIds: { bosId?: number | null; eosId?: number | null } = {}): HfTokenizer {
    const jsonPath = join(dir, 'tokenizer.json');
    let tokenizerJson: Record<string, unknown>;
    try {
      tokenizerJson = JSON.parse(readFileSync(jsonPath, 'utf8'));
    } catch (error) {
      throw new Error(`${jsonPath}: cannot load tokenizer: ${(error as Error).message}`);
    }
    const configPath = join(dir, 'tokenizer_config.json');
    let tokenizerConfig: Record<string, unknown> = {};
    if (existsSync(configPath)) {
      try {
        tokenizerConfig = JSON.parse(readFileSync(configPath, 'utf8'));
      } catch (error) {
        throw new Error(`${configPath}: not valid JSON: ${(error as Error).message}`);
      }
    }
    try {
      return new HfTokenizer(tokenizerJson, tokenizerConfig, fallbackIds);
    } catch (error) {
      throw new Error(`${jsonPath}: cannot build tokenizer: ${(error as Error).message}`);
    }
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    // Special tokens are added here, not by the file's post-processor, so every tokenizer behaves alike.
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    return options.bos && this.bosId !== null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }
}
