// Shared by the graph-* and runtime-* tests: tiny random models of every family and logit comparisons.
import type { ModelConfig, ModelWeights } from '../src/model';
import { presetConfig, randomModelWeights, type TinyPresetName } from '../src/model';

export const FAMILIES: TinyPresetName[] = ['tiny-llama-mha', 'tiny-llama3-gqa', 'tiny-qwen2-bias', 'tiny-qwen3-qknorm', 'tiny-mistral'];

export interface TinyModel {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
}

/** std 0.2 keeps logits far from uniform, so cache errors show in them. */
export function tinyModel(name: TinyPresetName, seed = 1, overrides: Partial<ModelConfig> = {}): TinyModel {
  const config = { ...presetConfig(name), ...overrides };
  return { name, config, weights: randomModelWeights(config, seed, 0.2) };
}

/** max_i |a_i - b_i| / max_i |b_i|: the error relative to the logits' scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

export function randomTokens(count: number, vocab: number, seed = 7): number[] {
  let s = seed;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % vocab;
  });
}
