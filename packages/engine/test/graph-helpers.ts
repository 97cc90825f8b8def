// Shared by the graph-* and runtime-* tests: tiny random models of every family and logit comparisons.
import { quantizerConfig } from '@kvbench/quant';
import type { CachePolicy } from '../src/evaluation';
import type { ModelConfig, ModelWeights } from '../src/model';
import type { ReferenceModel } from '../src/reference';
import type { DecoderSession } from '../src/session';
import { presetConfig, randomModelWeights, type TinyPresetName } from '../src/model';

export const FAMILIES: TinyPresetName[] = ['tiny-llama-mha', 'tiny-llama3-gqa', 'tiny-qwen2-bias', 'tiny-qwen3-qknorm', 'tiny-mistral'];

export interface TinyModel {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
}

/** Packed K4V2 (quanto per-token, groups of 8: tiny heads), residual 8, quantize-all prefill; `p` overrides. */
export function k4v2Policy(p: Partial<CachePolicy> = {}): CachePolicy {
  return {
    quant: { key: quantizerConfig({ bits: 4, groupSize: 8 }), value: quantizerConfig({ bits: 2, groupSize: 8 }) },
    residualLength: 8,
    prefill: 'quantize-all',
    residualMode: 'append',
    mode: 'packed',
    ...p,
  };
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

/**
 * Prefills `prompt` tokens, then decodes the rest one step at a time; returns the worst relative error of
 * the session's logits against the full-precision float64 reference at every position it returns.
 */
export async function worstAgainstReference(session: DecoderSession, reference: ReferenceModel, tokens: number[], prompt: number): Promise<number> {
  let expected!: Float64Array;
  for (let p = 0; p < prompt; p++) expected = reference.forward(tokens[p], p);
  let worst = relativeError(await session.prefill(tokens.slice(0, prompt)), expected);
  for (let p = prompt; p < tokens.length; p++) {
    worst = Math.max(worst, relativeError(await session.step(tokens[p]), reference.forward(tokens[p], p)));
  }
  return worst;
}
