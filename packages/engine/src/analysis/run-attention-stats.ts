// Attention-level metrics of one run (issue 6 item 5), stored with its per-layer statistics: on a short
// sample of the run's own data, the float64 reference's exact keys, values and queries against the run's
// codecs (the same TS coders the reference session uses), per layer.
import type { LayerCodecs } from '../codec';
import type { LayerStat } from '../evaluation';
import type { ModelConfig, ModelWeights } from '../model/config';
import { sampleKvCache } from './cache-sample';
import { codecAttentionMetrics } from './quantized-attention';

/** Sample size: the reference forward pass is plain float64 TypeScript, slow on GPU-sized models. */
export const ATTENTION_SAMPLE = { documents: 1, tokens: 64 } as const;

/**
 * Rows per layer: tensor k: attn.klMean, attn.klMax (KL(exact || quantized) of the attention
 * distributions, which depend on the keys only), attn.relError of the keys; tensor v: attn.relError of
 * the values and attn.outputRelError (the attention output, which both change).
 */
export function runAttentionStats(config: ModelConfig, weights: ModelWeights, documents: readonly number[][], codecs: readonly LayerCodecs[]): LayerStat[] {
  if (documents.length === 0) return [];
  const sample = sampleKvCache(config, weights, documents, { withQueries: true });
  const metrics = codecAttentionMetrics(config, sample, documents.map((d) => d.length), codecs);
  return metrics.flatMap((m) => [
    { layer: m.layer, tensor: 'k' as const, metric: 'attn.klMean', value: m.klMean },
    { layer: m.layer, tensor: 'k' as const, metric: 'attn.klMax', value: m.klMax },
    { layer: m.layer, tensor: 'k' as const, metric: 'attn.relError', value: m.keyRelativeError },
    { layer: m.layer, tensor: 'v' as const, metric: 'attn.relError', value: m.valueRelativeError },
    { layer: m.layer, tensor: 'v' as const, metric: 'attn.outputRelError', value: m.outputRelativeError },
  ]);
}
