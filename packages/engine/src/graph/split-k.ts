// One token's projection x [1, in] · W [in, out] as a split-K product: `in / chunk` partial products of
// `chunk` terms each (one batched MatMul), summed by a second MatMul with a row of ones. On WebGPU this is
// both faster and more accurate than one MatMul: ORT's WebGPU MatMul accumulates in the tensor's type
// (float16 sums of thousands of terms) and gives one token out / 32 workgroups that each walk all of `in`
// (H100, bench/results/gpu-linears.md: 126 -> 23 µs per 2048x8192 projection, relative error 9.9e-3 ->
// 1.6e-3 at in = 8192).
import type { GraphBuilder, Value } from '@kvbench/onnx';
import type { GraphDtype } from './precision';

/**
 * How Layers writes float projections: an If on `oneToken` between the split-K product (one token) and
 * one MatMul (prefill: the split form would write in / chunk partial rows per token), over one
 * [in / chunk, chunk, out] weight. (The decoder's whole body as one If, built twice, measured about twice
 * as slow per step on WebGPU: bench/results/gpu-decode-profile.md section 6.)
 */
export interface SplitK {
  /** Terms per partial sum. */
  chunk: number;
  /** Bool scalar graph input (ONE_TOKEN): the run is one token. */
  oneToken: Value;
  /**
   * Prefill runs: terms per partial sum of each projection (0 = one MatMul). Each row's float16 sum then
   * runs over about this many terms instead of all of `in`; the keys and values a prefill writes into the
   * cache are what every later decode step reads (bench/results/gpu-consistency-fp16.md).
   */
  prefillTerms: number;
}

/** Terms per partial sum on GPU providers: 128 measured as fast as 64 with the same error at in = 8192 (gpu-linears.md). */
export const SPLIT_K_CHUNK = 128;

/**
 * Terms per partial sum of a prefill projection on GPU providers (bench/results/gpu-consistency-fp16.md):
 * 8 parts of a 2048-wide input, 56 of a 14336-wide one; a 512-token chunk's partial products then take
 * parts x 512 x out x 2 bytes (235 MiB for Mistral-7B's down projection, 470 MiB for its gate/up). 128
 * terms gave smaller float16 errors but filled the cache 3.5x slower on the H100; 256 costs about 13%.
 */
export const PREFILL_TERMS = 256;

/**
 * Partial products for a prefill projection of `c` chunks and `in` terms: about in / terms, rounded down
 * to a divisor of c (so that the weight is viewed without a copy); 1 = one MatMul.
 */
export function prefillPartsFor(c: number, inDim: number, terms: number): number {
  if (terms <= 0) return 1;
  let p = Math.min(c, Math.max(1, Math.floor(inDim / terms)));
  while (c % p !== 0) p--;
  return p;
}

/**
 * x [T, in] · w, w = W^T stored as [c, chunk, out], in `parts` partial products of in / parts terms:
 * x viewed as [T, parts, in / parts] and transposed to [parts, T, in / parts], one batched MatMul
 * against w viewed as [parts, in / parts, out], and a ReduceSum over the parts -> [T, out].
 */
export function splitKPrefill(g: GraphBuilder, x: Value, w: Value, [c, chunk, out]: [number, number, number], parts: number): Value {
  const width = (c / parts) * chunk;
  const xs = g.op('Transpose', [g.op('Reshape', [x, g.ints([-1, parts, width])])], { perm: [1, 0, 2] });
  const partial = g.op('MatMul', [xs, g.op('Reshape', [w, g.ints([parts, width, out])])]); // [parts, T, out]
  return g.op('ReduceSum', [partial, g.ints([0])], { keepdims: 0 });
}

/** x [1, in] · w, with w = W^T stored as [c, chunk, out] (c = in / chunk) -> [1, out]. */
export function splitKProduct(g: GraphBuilder, x: Value, w: Value, dtype: GraphDtype, [c, chunk, out]: [number, number, number]): Value {
  const partial = g.op('MatMul', [g.op('Reshape', [x, g.ints([c, 1, chunk])]), w]); // [c, 1, out]
  const ones = g.constant(dtype, [1, c], new Array<number>(c).fill(1));
  return g.op('MatMul', [ones, g.op('Reshape', [partial, g.ints([c, out])])]);
}
