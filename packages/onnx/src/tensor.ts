import type { DType } from './dtype';
import { bytesPerElement } from './dtype';

/** Constant tensor data for initializers and Constant nodes; `data` is the little-endian raw bytes. */
export interface TensorData {
  dtype: DType;
  dims: number[];
  data: Uint8Array;
}

type NumericArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

function rawBytes(a: NumericArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function tensor(dtype: DType, dims: number[], values: NumericArray | number[]): TensorData {
  const count = dims.reduce((p, d) => p * d, 1);
  let data: Uint8Array;
  if (Array.isArray(values)) {
    data = rawBytes(typedFrom(dtype, values));
  } else {
    data = rawBytes(values);
  }
  const expected = Math.ceil(count * bytesPerElement(dtype));
  if (data.byteLength !== expected) {
    throw new Error(`tensor(${dtype}, [${dims}]): expected ${expected} bytes of data, got ${data.byteLength}`);
  }
  return { dtype, dims, data };
}

function typedFrom(dtype: DType, values: number[]): NumericArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'int64':
      return BigInt64Array.from(values.map((v) => BigInt(v)));
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint32':
      return Uint32Array.from(values);
    case 'float16':
      return Uint16Array.from(values.map(toFloat16Bits));
    default:
      throw new Error(`tensor(): cannot build ${dtype} from a number[]; pass raw bytes`);
  }
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** IEEE half-precision bits of a number, round-to-nearest-even (used for fp16 weights). */
export function toFloat16Bits(value: number): number {
  scratchF32[0] = value;
  return halfBitsOfFloatBits(scratchU32[0]);
}

/** Half-precision bits from the bits of a float32, round-to-nearest-even. */
function halfBitsOfFloatBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** Float32Array → fp16 raw bytes. */
export function float16Bytes(values: Float32Array): Uint8Array {
  // Reads the float32 bit patterns in place: no per-element allocation (this runs over every fp16 weight).
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsOfFloatBits(bits[i]);
  return new Uint8Array(out.buffer);
}
