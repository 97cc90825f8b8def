// TurboQuant works on one head vector at a time; a KV tensor [batch, kvHeads, seq, headDim] (or a cache
// block [tokens, kvHeads*headDim]) is a run of contiguous head vectors of length headDim.

export interface HeadVectorQuantizer {
  readonly dim: number;
  quantize(x: ArrayLike<number>): Float64Array;
}

/** Fake-quantizes every consecutive `q.dim`-long vector of `x` (x.length must be a multiple of q.dim). */
export function quantizeHeadVectors(q: HeadVectorQuantizer, x: ArrayLike<number>): Float64Array {
  const d = q.dim;
  if (x.length % d !== 0) throw new Error(`quantizeHeadVectors: ${x.length} values are not a whole number of ${d}-dim head vectors`);
  const out = new Float64Array(x.length);
  const v = new Float64Array(d);
  for (let off = 0; off < x.length; off += d) {
    for (let i = 0; i < d; i++) v[i] = x[off + i];
    out.set(q.quantize(v), off);
  }
  return out;
}
