// In-graph rotation of head vectors: one MatMul by the explicit matrix (WebGPU-safe; for head_dim <= 256
// the d x d MatMul costs little next to attention). Rows are the last axis: [..., inputDim] -> [..., outputDim].
import type { GraphBuilder, Value } from '@kvbench/onnx';
import { tensor } from '@kvbench/onnx';
import type { Rotation } from './rotation';

export type RotationDtype = 'float32' | 'float16';

export interface RotationEmitOptions {
  /** Apply Πᵀ (undo the rotation) instead of Π. */
  inverse?: boolean;
  dtype?: RotationDtype;
  /** Name of the result (e.g. a graph output's name, so no Identity is needed). */
  name?: string;
}

// One initializer per (graph, rotation, direction, dtype), however many layers use it.
const emitted = new WeakMap<GraphBuilder, Map<string, Value>>();

/** The initializer holding the MatMul right-hand side: Πᵀ (outputDim columns) or Π for the inverse. */
export function rotationInitializer(g: GraphBuilder, rotation: Rotation, options: RotationEmitOptions = {}): Value {
  const dtype = options.dtype ?? 'float32';
  const inverse = options.inverse ?? false;
  const key = `${rotation.kind}_${rotation.seed}_${rotation.inputDim}x${rotation.outputDim}_${inverse ? 'inv' : 'fwd'}_${dtype}`;
  let cache = emitted.get(g);
  if (!cache) emitted.set(g, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return hit;
  const pi = rotation.matrix(); // [outputDim, inputDim] row-major
  const { inputDim: n, outputDim: p } = rotation;
  let rhs: number[];
  let dims: number[];
  if (inverse) {
    // x = y Π : [.., p] x [p, n]
    rhs = Array.from(pi);
    dims = [p, n];
  } else {
    // y = x Πᵀ : [.., n] x [n, p]
    rhs = new Array(n * p);
    for (let i = 0; i < p; i++) for (let j = 0; j < n; j++) rhs[j * p + i] = pi[i * n + j];
    dims = [n, p];
  }
  const value = g.initializer(g.fresh(`rotation_${key}`), tensor(dtype, dims, rhs));
  cache.set(key, value);
  return value;
}

/** y = Π x on the last axis of `x`. */
export function emitRotation(g: GraphBuilder, x: Value, rotation: Rotation, options: RotationEmitOptions = {}): Value {
  return g.op('MatMul', [x, rotationInitializer(g, rotation, options)], {}, options.name ? { names: [options.name] } : {});
}
