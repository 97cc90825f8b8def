// Small helpers over ORT tensors: exact byte sizes (from dims and type, so GPU tensors are never read)
// and empty cache tensors.
import * as ort from 'onnxruntime-node';
import type { GraphDtype } from '../graph';

const ELEMENT_BYTES: Record<string, number> = {
  float32: 4, float16: 2, uint8: 1, int8: 1, int32: 4, uint32: 4, int64: 8, uint16: 2, int16: 2, bool: 1, float64: 8,
};

export function tensorBytes(t: ort.Tensor): number {
  const bytes = ELEMENT_BYTES[t.type];
  if (bytes === undefined) throw new Error(`tensorBytes: unsupported tensor type ${t.type}`);
  return t.dims.reduce((n, d) => n * d, 1) * bytes;
}

/** A zero-sized float tensor [1, kvHeads, 0, headDim]: an empty history or residual. */
export function emptyFloatTensor(dtype: GraphDtype, kvHeads: number, headDim: number): ort.Tensor {
  return dtype === 'float16'
    ? new ort.Tensor('float16', new Uint16Array(0), [1, kvHeads, 0, headDim])
    : new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
}

/** A zero-filled float tensor [1, kvHeads, tokens, headDim]. */
export function zeroFloatTensor(dtype: GraphDtype, kvHeads: number, tokens: number, headDim: number): ort.Tensor {
  const n = kvHeads * tokens * headDim;
  return dtype === 'float16'
    ? new ort.Tensor('float16', new Uint16Array(n), [1, kvHeads, tokens, headDim])
    : new ort.Tensor('float32', new Float32Array(n), [1, kvHeads, tokens, headDim]);
}

export function int64Tensor(values: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
}

/** int32 [values.length], or a scalar (dims []) when `scalar`. */
export function int32Tensor(values: number[], scalar = false): ort.Tensor {
  return new ort.Tensor('int32', Int32Array.from(values), scalar ? [] : [values.length]);
}

/** Releases device memory of tensors that live on a GPU; CPU tensors are left to the GC. */
export function disposeTensors(tensors: Iterable<ort.Tensor>): void {
  for (const t of tensors) if (t.location === 'gpu-buffer') t.dispose();
}
