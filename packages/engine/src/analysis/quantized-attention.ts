// Attention-level effects of quantizing a sampled cache (issue 6 item 5), per layer: each document's
// cached keys and values are quantized as one stored block (quantize-all, no residual window) with
// @kvbench/quant's quantizers, dequantized, and compared with the exact cache through attentionMetrics.
import { QuantConfigError, fakeQuantize, validateLayout, type KvQuantConfig, type QuantizerConfig } from '@kvbench/quant';
import type { LayerCodecs } from '../codec';
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

/** How one layer's keys or values are quantized here: the tokens of a block it codes, and the round trip. */
interface BlockQuantizer {
  /** Tokens of a `length`-token block that are quantized (a prefix; the rest stays exact). */
  tokens(length: number): number;
  /** [1, kvHeads, tokens, headDim] -> its dequantized round trip. */
  roundTrip(bhsd: Float32Array, tokens: number): Float32Array;
}

function grouped(q: QuantizerConfig, kvHeads: number, headDim: number, field: string): BlockQuantizer {
  return {
    tokens(length) {
      const s = quantizableTokens(length, kvHeads, headDim, q);
      // Re-validate at full length to surface the layout's own error (it names the group size).
      if (s === 0) validateLayout([1, kvHeads, length, headDim], q.axis, q.groupSize, field);
      return s;
    },
    roundTrip: (bhsd, tokens) => fakeQuantize(bhsd, [1, kvHeads, tokens, headDim], q),
  };
}

/**
 * Fake-quantizes rows [start, start+length) of a [tokens, kvHeads*headDim] cache into `out` (same layout).
 * The quantizers work on [batch, kvHeads, seq, headDim], so the block is transposed there and back.
 */
function fakeQuantizeBlock(src: Float64Array, out: Float64Array, start: number, length: number, kvHeads: number, headDim: number, q: BlockQuantizer): number {
  const kvDim = kvHeads * headDim;
  out.set(src.subarray(start * kvDim, (start + length) * kvDim), start * kvDim);
  const s = q.tokens(length);
  if (s === 0) return 0;
  const bhsd = new Float32Array(kvHeads * s * headDim);
  for (let t = 0; t < s; t++)
    for (let h = 0; h < kvHeads; h++)
      for (let d = 0; d < headDim; d++) bhsd[(h * s + t) * headDim + d] = src[(start + t) * kvDim + h * headDim + d];
  const deq = q.roundTrip(bhsd, s);
  for (let t = 0; t < s; t++)
    for (let h = 0; h < kvHeads; h++)
      for (let d = 0; d < headDim; d++) out[(start + t) * kvDim + h * headDim + d] = deq[(h * s + t) * headDim + d];
  return s;
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
  const { kvHeads, headDim } = config;
  const key = grouped(quant.key, kvHeads, headDim, 'key');
  const value = grouped(quant.value, kvHeads, headDim, 'value');
  return attentionMetricsWith(config, sample, documentLengths, () => ({ key, value }));
}

/** The same metrics under a run's per-layer codecs (rotations, TurboQuant, budget allocations). */
export function codecAttentionMetrics(
  config: ModelConfig,
  sample: readonly LayerCacheSample[],
  documentLengths: readonly number[],
  codecs: readonly LayerCodecs[],
): LayerAttentionMetrics[] {
  const wrap = (c: LayerCodecs['key']): BlockQuantizer => ({
    tokens: (length) => Math.floor(length / c.quantum) * c.quantum,
    roundTrip: (bhsd, tokens) => c.codeBlock(bhsd, tokens).dequantized,
  });
  return attentionMetricsWith(config, sample, documentLengths, (l) => ({ key: wrap(codecs[l].key), value: wrap(codecs[l].value) }));
}

function attentionMetricsWith(
  config: ModelConfig,
  sample: readonly LayerCacheSample[],
  documentLengths: readonly number[],
  quantizers: (layer: number) => { key: BlockQuantizer; value: BlockQuantizer },
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
    const q = quantizers(l);
    for (const length of documentLengths) {
      quantizedTokens += Math.min(
        fakeQuantizeBlock(layer.keys.data, qk, start, length, kvHeads, headDim, q.key),
        fakeQuantizeBlock(layer.values.data, qv, start, length, kvHeads, headDim, q.value),
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
