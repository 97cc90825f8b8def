// Grouped-query attention over the cache of one layer. Every shape in it is a constant or a graph
// input, so no shape arithmetic runs (on WebGPU, int64 shape ops would be placed on the CPU, which the
// engine forbids): the query heads that share a KV head are stacked as rows, and the mask comes in
// already tiled to those rows.
import type { Value } from '@kvbench/onnx';
import type { Layers } from './layers';

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/**
 * The cache as attention reads it, [1, kvHeads, S, headDim] tensors in position order. With a history,
 * its key and value rows must cover the same positions (`rows` of them, an int64 [1] graph input;
 * placeholder rows are masked by the bias); it is attended in place, never concatenated (copied).
 */
export interface AttentionCache {
  history: { key: Value; value: Value; rows: Value } | null;
  /** residual ++ new tokens */
  present: { key: Value; value: Value };
}

/**
 * q [T, heads*headDim]; bias [groups*T, S] with groups = heads/kvHeads and S the cache's columns
 * (history rows, then present); row j*T + t masks query t of the j-th head of a group.
 * Returns [T, heads*headDim]; query head h reads KV head floor(h / groups).
 */
export function groupedQueryAttention(layers: Layers, shape: AttentionShape, q: Value, cache: AttentionCache, bias: Value): Value {
  const g = layers.g;
  const { heads, kvHeads, headDim } = shape;
  const group = heads / kvHeads;
  const squeeze = (x: Value) => g.op('Squeeze', [x, g.ints([0])]); // [Hkv, S, D]
  // [T, Hq*D] -> [T, Hkv, g, D] -> [Hkv, g, T, D] -> [Hkv, g*T, D], pre-scaled by 1/sqrt(D)
  const qHeads = layers.scale(
    layers.reshape(layers.transpose(layers.reshape(q, [-1, kvHeads, group, headDim]), [1, 2, 0, 3]), [kvHeads, -1, headDim]),
    1 / Math.sqrt(headDim),
  );
  const scoresOf = (keys: Value) => g.op('MatMul', [qHeads, layers.transpose(squeeze(keys), [0, 2, 1])]); // [Hkv, g*T, S_i]

  let out: Value;
  if (cache.history) {
    const scores = g.op('Concat', [scoresOf(cache.history.key), scoresOf(cache.present.key)], { axis: -1 });
    const probs = layers.softmax(g.op('Add', [scores, bias]));
    const { rows } = cache.history;
    const probsHistory = g.op('Slice', [probs, g.ints([0]), rows, g.ints([2])]);
    const probsPresent = g.op('Slice', [probs, rows, g.ints([2 ** 62]), g.ints([2])]);
    out = g.op('Add', [g.op('MatMul', [probsHistory, squeeze(cache.history.value)]), g.op('MatMul', [probsPresent, squeeze(cache.present.value)])]);
  } else {
    const probs = layers.softmax(g.op('Add', [scoresOf(cache.present.key), bias]));
    out = g.op('MatMul', [probs, squeeze(cache.present.value)]); // [Hkv, g*T, D]
  }
  // -> [Hkv, g, T, D] -> [T, Hkv, g, D] -> [T, Hq*D]
  const outHeads = layers.transpose(layers.reshape(out, [kvHeads, group, -1, headDim]), [2, 0, 1, 3]);
  return layers.reshape(outHeads, [-1, heads * headDim]);
}
