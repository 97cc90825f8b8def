// The tokenizer that goes with a model spec (same resolution rules as loadModel).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resolveModelSpec } from '../model/load';
import { HfTokenizer } from './huggingface';
import { Llama2cTokenizer } from './llama2c';
import type { TextTokenizer } from './types';

export async function loadTokenizer(spec: string): Promise<TextTokenizer> {
  const source = resolveModelSpec(spec);
  if (source.format === 'huggingface') {
    const configPath = join(source.path, 'config.json');
    let ids: { bosId?: number | null; eosId?: number | null } = {};
    if (existsSync(configPath)) {
      const config = JSON.parse(readFileSync(configPath, 'utf8')) as { bos_token_id?: number; eos_token_id?: number | number[] };
      const eos = config.eos_token_id;
      ids = { bosId: config.bos_token_id ?? null, eosId: Array.isArray(eos) ? (eos[0] ?? null) : (eos ?? null) };
    }
    return HfTokenizer.load(source.path, ids);
  }
  // The vocab size lives in the checkpoint header (int32 #6, absolute value).
  const header = readFileSync(source.path).subarray(0, 28);
  if (header.byteLength < 28) throw new Error(`${source.path}: truncated llama2.c checkpoint header`);
  const vocabSize = Math.abs(header.readInt32LE(20));
  const candidates = [source.tokenizerPath, join(dirname(source.path), `tok${vocabSize}.bin`)].filter(
    (p): p is string => p !== null && existsSync(p),
  );
  if (candidates.length === 0) {
    throw new Error(`${source.path}: no llama2.c tokenizer found next to it (tokenizer.bin or tok${vocabSize}.bin)`);
  }
  return Llama2cTokenizer.load(candidates[0], vocabSize);
}
