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
}

/** Terms per partial sum on GPU providers: 128 measured as fast as 64 with the same error at in = 8192 (gpu-linears.md). */
export const SPLIT_K_CHUNK = 128;

/** x [1, in] · w, with w = W^T stored as [c, chunk, out] (c = in / chunk) -> [1, out]. */
export function splitKProduct(g: GraphBuilder, x: Value, w: Value, dtype: GraphDtype, [c, chunk, out]: [number, number, number]): Value {
  const partial = g.op('MatMul', [g.op('Reshape', [x, g.ints([c, 1, chunk])]), w]); // [c, 1, out]
  const ones = g.constant(dtype, [1, c], new Array<number>(c).fill(1));
  return g.op('MatMul', [ones, g.op('Reshape', [partial, g.ints([c, out])])]);
}
