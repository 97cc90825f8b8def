// Attention-level metrics of one run (issue 6 item 5), stored with its per-layer statistics: on a short
// sample of the run's own data, the float64 reference's exact keys, values and queries against the run's
// codecs (the same TS coders the reference session uses), per layer.
import type { LayerCodecs } from '../codec';
import type { LayerStat } from '../evaluation';
import type { ModelConfig, ModelWeights } from '../model/config';
import { sampleKvCache, type LayerCacheSample } from './cache-sample';
import { codecAttentionMetrics } from './quantized-attention';

/** Sample size: the reference forward pass is plain float64 TypeScript, slow on GPU-sized models. */
export const ATTENTION_SAMPLE = { documents: 1, tokens: 64 } as const;

/** The float64 reference's cache (queries included) over a few documents: one pass serves budget and attention metrics. */
export interface RunCacheSample {
  layers: LayerCacheSample[];
  documentLengths: number[];
}

/** null when no document has 2 tokens. */
export function runCacheSample(config: ModelConfig, weights: ModelWeights, documents: readonly number[][]): RunCacheSample | null {
  if (documents.length === 0) return null;
  return { layers: sampleKvCache(config, weights, documents, { withQueries: true }), documentLengths: documents.map((d) => d.length) };
}

/**
 * Rows per layer: tensor k: attn.klMean, attn.klMax (KL(exact || quantized) of the attention
 * distributions, which depend on the keys only), attn.relError of the keys; tensor v: attn.relError of
 * the values and attn.outputRelError (the attention output, which both change).
 */
export function runAttentionStats(config: ModelConfig, sample: RunCacheSample | null, codecs: readonly LayerCodecs[]): LayerStat[] {
  if (!sample) return [];
  const metrics = codecAttentionMetrics(config, sample.layers, sample.documentLengths, codecs);
  return metrics.flatMap((m) => [
    { layer: m.layer, tensor: 'k' as const, metric: 'attn.klMean', value: m.klMean },
    { layer: m.layer, tensor: 'k' as const, metric: 'attn.klMax', value: m.klMax },
    { layer: m.layer, tensor: 'k' as const, metric: 'attn.relError', value: m.keyRelativeError },
    { layer: m.layer, tensor: 'v' as const, metric: 'attn.relError', value: m.valueRelativeError },
    { layer: m.layer, tensor: 'v' as const, metric: 'attn.outputRelError', value: m.outputRelativeError },
  ]);
}
