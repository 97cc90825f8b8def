// Runs the float64 reference forward pass over sample documents and gathers every layer's cache:
// post-RoPE keys (what the cache stores), pre-RoPE keys and values, as [tokens, kvHeads*headDim] rows.
import type { ModelConfig, ModelWeights } from '../model/config';
import { ReferenceModel } from '../reference/forward';
import { referenceThreads, type MatmulThreads } from '../reference/matmul-threads';
import { applyRope, ropeInverseFrequencies } from '../reference/rope';
import type { Matrix } from './matrix';
import { matrix } from './matrix';

export interface LayerCacheSample {
  /** Keys as cached, after RoPE (and after QK-norm for Qwen3). */
  keys: Matrix;
  /** The same keys with RoPE undone (RoPE is a rotation, so it inverts exactly at angle -pos). */
  keysPreRope: Matrix;
  values: Matrix;
  /** Queries after QK-norm and RoPE, [tokens, heads*headDim]; only when asked for (`withQueries`). */
  queries?: Matrix;
}

export interface SampleOptions {
  /** Also record every layer's queries (for attention-level metrics). */
  withQueries?: boolean;
  /** Threads for the products (same numbers); default referenceThreads(), null for this thread only. */
  threads?: MatmulThreads | null;
}

/** `documents` are token id sequences, each fed from position 0 with a fresh cache. */
export function sampleKvCache(
  config: ModelConfig,
  weights: ModelWeights,
  documents: readonly number[][],
  options: SampleOptions = {},
): LayerCacheSample[] {
  const kvDim = config.kvHeads * config.headDim;
  const tokens = documents.reduce((n, d) => n + d.length, 0);
  if (tokens === 0) throw new Error('sampleKvCache: documents hold no tokens');
  const longest = Math.max(...documents.map((d) => d.length));
  const qDim = config.heads * config.headDim;
  const out: LayerCacheSample[] = Array.from({ length: config.layers }, () => ({
    keys: matrix(tokens, kvDim),
    keysPreRope: matrix(tokens, kvDim),
    values: matrix(tokens, kvDim),
    ...(options.withQueries ? { queries: matrix(tokens, qDim) } : {}),
  }));
  let row = 0;
  const onQuery = options.withQueries
    ? (layer: number, q: Float64Array, pos: number) => out[layer].queries!.data.set(q.subarray(0, qDim), (row + pos) * qDim)
    : undefined;
  const threads = options.threads === undefined ? referenceThreads() : (options.threads ?? undefined);
  const model = new ReferenceModel(config, weights, { maxSequence: longest, onQuery, threads });
  const invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  try {
    for (const doc of documents) {
      model.reset();
      model.forwardBlock(doc, 0, { logits: false }); // the whole document at once: each weight read once
      for (let l = 0; l < config.layers; l++) {
        const { keys, keysPreRope, values } = out[l];
        for (let pos = 0; pos < doc.length; pos++) {
          const k = model.keyCache[l].slice(pos * kvDim, (pos + 1) * kvDim);
          keys.data.set(k, (row + pos) * kvDim);
          applyRope(k, config.kvHeads, -pos, invFreq, config);
          keysPreRope.data.set(k, (row + pos) * kvDim);
          values.data.set(model.valueCache[l].subarray(pos * kvDim, (pos + 1) * kvDim), (row + pos) * kvDim);
        }
      }
      row += doc.length;
    }
  } finally {
    threads?.release(weights); // the helpers need not keep this model's memory alive
  }
  return out;
}
