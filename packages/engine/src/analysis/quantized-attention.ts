// Attention-level effects of quantizing a sampled cache (issue 6 item 5), per layer: each document's
// cached keys and values are quantized as one stored block (quantize-all, no residual window) with
// @kvbench/quant's quantizers, dequantized, and compared with the exact cache through attentionMetrics.
import { QuantConfigError, fakeQuantize, validateLayout, type KvQuantConfig, type QuantizerConfig } from '@kvbench/quant';
import type { ModelConfig } from '../model/config';
import { attentionMetrics, relativeError, type AttentionMetrics } from './attention';
import type { LayerCacheSample } from './cache-sample';

/**
 * Tokens of a `length`-token block this quantizer can store as groups: the longest prefix whose shape the
 * layout accepts (per-channel groups need whole blocks of G tokens; the ragged tail is what a real cache
 * keeps in its full-precision residual, so it stays exact here too). 0 when none fits.
 */
export function quantizableTokens(length: number, kvHeads: number, headDim: number, q: QuantizerConfig): number {
  for (let s = length; s > 0; s--) {
    try {
      validateLayout([1, kvHeads, s, headDim], q.axis, q.groupSize);
      return s;
    } catch (error) {
      if (!(error instanceof QuantConfigError)) throw error;
    }
  }
  return 0;
}

/**
 * Fake-quantizes rows [start, start+length) of a [tokens, kvHeads*headDim] cache into `out` (same layout).
 * The quantizers work on [batch, kvHeads, seq, headDim], so the block is transposed there and back.
 */
function fakeQuantizeBlock(src: Float64Array, out: Float64Array, start: number, length: number, kvHeads: number, headDim: number, q: QuantizerConfig, field: string): void {
  const kvDim = kvHeads * headDim;
  out.set(src.subarray(start * kvDim, (start + length) * kvDim), start * kvDim);
  const s = quantizableTokens(length, kvHeads, headDim, q);
  if (s === 0) {
    // Re-validate at full length to surface the layout's own error (it names the group size).
    validateLayout([1, kvHeads, length, headDim], q.axis, q.groupSize, field);
    return;
  }
  const bhsd = new Float32Array(kvHeads * s * headDim);
  for (let t = 0; t < s; t++)
    for (let h = 0; h < kvHeads; h++)
      for (let d = 0; d < headDim; d++) bhsd[(h * s + t) * headDim + d] = src[(start + t) * kvDim + h * headDim + d];
  const deq = fakeQuantize(bhsd, [1, kvHeads, s, headDim], q);
  for (let t = 0; t < s; t++)
    for (let h = 0; h < kvHeads; h++)
      for (let d = 0; d < headDim; d++) out[(start + t) * kvDim + h * headDim + d] = deq[(h * s + t) * headDim + d];
}

export interface LayerAttentionMetrics extends AttentionMetrics {
  layer: number;
  /** Cached tokens that went through the quantizer (the rest stayed exact: ragged per-channel tails). */
  quantizedTokens: number;
  tokens: number;
}

/**
 * Per layer: KL between exact and quantized attention distributions (mean and max over query positions
 * and heads), relative errors of keys and values (over the whole sample) and of the attention output
 * (query-count-weighted mean over documents). Documents are the consecutive row blocks of the sample,
 * each attended causally from its own position 0. Needs `sample[l].queries` (sampleKvCache withQueries).
 */
export function quantizedAttentionMetrics(
  config: ModelConfig,
  sample: readonly LayerCacheSample[],
  documentLengths: readonly number[],
  quant: KvQuantConfig,
): LayerAttentionMetrics[] {
  const { heads, kvHeads, headDim } = config;
  const kvDim = kvHeads * headDim;
  const qDim = heads * headDim;
  const tokens = documentLengths.reduce((a, b) => a + b, 0);
  return sample.map((layer, l) => {
    if (!layer.queries) throw new Error(`quantizedAttentionMetrics: layer ${l} has no queries (sample with withQueries: true)`);
    if (layer.keys.rows !== tokens) throw new Error(`quantizedAttentionMetrics: layer ${l} has ${layer.keys.rows} rows, documents hold ${tokens} tokens`);
    const qk = new Float64Array(layer.keys.data.length);
    const qv = new Float64Array(layer.values.data.length);
    let quantizedTokens = 0;
    let klWeighted = 0;
    let klMax = 0;
    let outWeighted = 0;
    let start = 0;
    for (const length of documentLengths) {
      fakeQuantizeBlock(layer.keys.data, qk, start, length, kvHeads, headDim, quant.key, 'key');
      fakeQuantizeBlock(layer.values.data, qv, start, length, kvHeads, headDim, quant.value, 'value');
      quantizedTokens += Math.min(
        quantizableTokens(length, kvHeads, headDim, quant.key),
        quantizableTokens(length, kvHeads, headDim, quant.value),
      );
      const m = attentionMetrics({
        heads,
        kvHeads,
        headDim,
        queries: layer.queries.data.subarray(start * qDim, (start + length) * qDim),
        keys: layer.keys.data.subarray(start * kvDim, (start + length) * kvDim),
        values: layer.values.data.subarray(start * kvDim, (start + length) * kvDim),
        quantizedKeys: qk.subarray(start * kvDim, (start + length) * kvDim),
        quantizedValues: qv.subarray(start * kvDim, (start + length) * kvDim),
      });
      klWeighted += m.klMean * length;
      klMax = Math.max(klMax, m.klMax);
      outWeighted += m.outputRelativeError * length;
      start += length;
    }
    return {
      layer: l,
      klMean: tokens ? klWeighted / tokens : 0,
      klMax,
      keyRelativeError: relativeError(layer.keys.data, qk),
      valueRelativeError: relativeError(layer.values.data, qv),
      outputRelativeError: tokens ? outWeighted / tokens : 0,
      quantizedTokens,
      tokens,
    };
  });
}
