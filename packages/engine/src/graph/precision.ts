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
