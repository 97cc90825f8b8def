// Attention-level effects of a quantized cache, per layer (issue 6 item 5; D'Alberto's KL metric):
// KL(p_ref || p_quant) of each query's attention distribution (it depends on the keys only), and the
// relative errors of keys, values and the attention output. Pure functions over row-major arrays:
// queries [nQueries, heads*headDim], keys/values [tokens, kvHeads*headDim] as the cache stores them.

type Vec = ArrayLike<number>;

/** Numerically stable softmax in float64. */
export function softmax(scores: Vec): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  const p = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    p[i] = Math.exp(scores[i] - max);
    sum += p[i];
  }
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** KL(p || q) = sum p log(p/q) in nats; terms with p = 0 contribute 0; q = 0 where p > 0 gives Infinity. */
export function distributionKl(p: Vec, q: Vec): number {
  if (p.length !== q.length) throw new Error(`distributionKl: lengths differ (${p.length} vs ${q.length})`);
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    kl += p[i] * Math.log(p[i] / q[i]);
  }
  return Math.max(kl, 0); // rounding can leave a tiny negative for identical distributions
}

/** ||approx - ref|| / ||ref|| (Frobenius over the flat arrays); 0 when both are zero. */
export function relativeError(ref: Vec, approx: Vec): number {
  if (ref.length !== approx.length) throw new Error(`relativeError: lengths differ (${ref.length} vs ${approx.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = approx[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num / den);
}

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface AttentionSample extends AttentionShape {
  queries: Vec;
  keys: Vec;
  values: Vec;
  quantizedKeys: Vec;
  quantizedValues: Vec;
  /**
   * Position of each query row; query i attends to keys 0..positions[i] (causal). Default: row i is
   * position i. Ignored when `causal` is false (every query sees every key).
   */
  positions?: ArrayLike<number>;
  causal?: boolean;
  /** Score scale; default 1/sqrt(headDim). */
  scale?: number;
}

export interface AttentionMetrics {
  /** Mean over (query, head) of KL(p_ref || p_quant), nats. */
  klMean: number;
  klMax: number;
  keyRelativeError: number;
  valueRelativeError: number;
  /** ||O - Ô||_F / ||O||_F with O = softmax(q K^T) V and Ô from the quantized K and V. */
  outputRelativeError: number;
}

/** Attention distribution of one query head over keys 0..length-1 of one KV head. */
export function attentionDistribution(
  query: Vec,
  queryOffset: number,
  keys: Vec,
  kvHead: number,
  length: number,
  shape: AttentionShape,
  scale = 1 / Math.sqrt(shape.headDim),
): Float64Array {
  const { kvHeads, headDim } = shape;
  const kvDim = kvHeads * headDim;
  const scores = new Float64Array(length);
  for (let t = 0; t < length; t++) {
    const kOff = t * kvDim + kvHead * headDim;
    let dot = 0;
    for (let i = 0; i < headDim; i++) dot += query[queryOffset + i] * keys[kOff + i];
    scores[t] = dot * scale;
  }
  return softmax(scores);
}

export function attentionMetrics(sample: AttentionSample): AttentionMetrics {
  const { heads, kvHeads, headDim, queries, keys, values, quantizedKeys, quantizedValues } = sample;
  if (heads % kvHeads !== 0) throw new Error(`attentionMetrics: heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  if (queries.length % qDim !== 0) throw new Error(`attentionMetrics: queries length ${queries.length} is not a multiple of heads*headDim ${qDim}`);
  if (keys.length % kvDim !== 0) throw new Error(`attentionMetrics: keys length ${keys.length} is not a multiple of kvHeads*headDim ${kvDim}`);
  for (const [name, a] of [['values', values], ['quantizedKeys', quantizedKeys], ['quantizedValues', quantizedValues]] as const) {
    if (a.length !== keys.length) throw new Error(`attentionMetrics: ${name} length ${a.length} differs from keys ${keys.length}`);
  }
  const nQueries = queries.length / qDim;
  const tokens = keys.length / kvDim;
  const causal = sample.causal ?? true;
  const group = heads / kvHeads;
  const scale = sample.scale ?? 1 / Math.sqrt(headDim);

  let klSum = 0;
  let klMax = 0;
  let outErr = 0;
  let outRef = 0;
  for (let i = 0; i < nQueries; i++) {
    const pos = causal ? (sample.positions ? sample.positions[i] : i) : tokens - 1;
    if (!Number.isInteger(pos) || pos < 0 || pos >= tokens) {
      throw new Error(`attentionMetrics: query ${i} at position ${pos} outside the ${tokens} cached tokens`);
    }
    const length = pos + 1;
    for (let h = 0; h < heads; h++) {
      const kvHead = Math.floor(h / group);
      const qOff = i * qDim + h * headDim;
      const p = attentionDistribution(queries, qOff, keys, kvHead, length, sample, scale);
      const pq = attentionDistribution(queries, qOff, quantizedKeys, kvHead, length, sample, scale);
      const kl = distributionKl(p, pq);
      klSum += kl;
      if (kl > klMax) klMax = kl;
      for (let d = 0; d < headDim; d++) {
        let o = 0;
        let oq = 0;
        for (let t = 0; t < length; t++) {
          const off = t * kvDim + kvHead * headDim + d;
          o += p[t] * values[off];
          oq += pq[t] * quantizedValues[off];
        }
        outErr += (oq - o) * (oq - o);
        outRef += o * o;
      }
    }
  }
  const pairs = nQueries * heads;
  return {
    klMean: pairs ? klSum / pairs : 0,
    klMax,
    keyRelativeError: relativeError(keys, quantizedKeys),
    valueRelativeError: relativeError(values, quantizedValues),
    outputRelativeError: outRef === 0 ? (outErr === 0 ? 0 : Infinity) : Math.sqrt(outErr / outRef),
  };
}
