// ONNX TensorProto.DataType codes for the element types kvbench uses.

export const DTYPES = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
  uint4: 21,
  int4: 22,
} as const;

export type DType = keyof typeof DTYPES;

/** Bytes per element in raw_data (sub-byte types are packed two per byte, rounded up). */
export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'uint8':
    case 'int8':
    case 'bool':
      return 1;
    case 'uint16':
    case 'int16':
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'float32':
    case 'int32':
    case 'uint32':
      return 4;
    case 'int64':
    case 'float64':
    case 'uint64':
      return 8;
    case 'uint4':
    case 'int4':
      return 0.5;
  }
}
