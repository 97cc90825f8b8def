// The floating-point type a decoder graph computes and stores its cache in.
// fp32 runs everywhere; fp16 halves weights and cache on GPUs (ORT's CPU EP has no fp16 MatMul).
import type { DType } from '@kvbench/onnx';
import { float16Bytes, tensor, type TensorData } from '@kvbench/onnx';

export type GraphDtype = 'float32' | 'float16';

export const GRAPH_DTYPES: readonly GraphDtype[] = ['float32', 'float16'];

export function bytesPerFloat(dtype: GraphDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

// fp16 conversion is per element in JS (seconds for a 1B model); several graphs of one session
// (different cache layouts) share the converted weights.
const fp16Cache = new WeakMap<Float32Array, Uint8Array>();

/** Weight / table data in the graph's float type. */
export function floatTensor(dtype: GraphDtype, dims: number[], values: Float32Array): TensorData {
  if (dtype === 'float32') return tensor('float32', dims, values);
  let data = fp16Cache.get(values);
  if (!data) fp16Cache.set(values, (data = float16Bytes(values)));
  return { dtype: 'float16' as DType, dims, data };
}

// Transposed projection weights ([out, in] as loaded -> [in, out] for MatMul): fp16 graphs keep the
// converted bytes per source array like fp16Cache; fp32 graphs transpose per build (a cached fp32 copy
// would double the resident weights).
const fp16TransposedCache = new WeakMap<Float32Array, Uint8Array>();

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  // Blocked so that both the reads and the writes stay within a few cache lines.
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    for (let c0 = 0; c0 < cols; c0 += B) {
      const r1 = Math.min(rows, r0 + B);
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = values[r * cols + c];
    }
  }
  return out;
}

/** values [rows, cols] as a [cols, rows] tensor in the graph's float type. */
export function transposedFloatTensor(dtype: GraphDtype, [rows, cols]: [number, number], values: Float32Array): TensorData {
  if (values.length !== rows * cols) throw new Error(`transposedFloatTensor: ${values.length} values for [${rows}, ${cols}]`);
  if (dtype === 'float32') return tensor('float32', [cols, rows], transpose(values, rows, cols));
  let data = fp16TransposedCache.get(values);
  if (!data) fp16TransposedCache.set(values, (data = float16Bytes(transpose(values, rows, cols))));
  return { dtype: 'float16' as DType, dims: [cols, rows], data };
}
