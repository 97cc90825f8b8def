// float16 / bfloat16 <-> float32 conversions for safetensors I/O. Widening is exact; narrowing rounds
// to nearest even, as PyTorch's .to(torch.float16 / torch.bfloat16) does.
export type StorageDtype = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<StorageDtype, number> = { F32: 4, F16: 2, BF16: 2 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function floatToHalf(value: number): number {
  f32[0] = value;
  return floatBitsToHalf(u32[0]);
}

/** floatToHalf on the bit pattern of a float32 (no scratch round trip: used over whole weight tensors). */
function floatBitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf / NaN
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    // subnormal: shift the implicit 1 in and round to nearest even
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && result & 1)) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && result & 1)) result++; // may carry into the exponent: still correct
  return sign | result;
}

export function bfloat16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}

export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

let halfToFloatTable: Float32Array | null = null;

/** float32 value of every half bit pattern (256 KiB, built once): decoding fp16 weights is a lookup. */
function halfTable(): Float32Array {
  if (!halfToFloatTable) {
    halfToFloatTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfToFloatTable[h] = halfToFloat(h);
  }
  return halfToFloatTable;
}

/** Decodes little-endian tensor bytes of `dtype` into float32. */
export function decodeToFloat32(bytes: Uint8Array, dtype: StorageDtype): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  // Shared memory: the float64 reference's helper threads read weights in place (reference/matmul-threads.ts).
  const out = new Float32Array(new SharedArrayBuffer(n * 4));
  if (dtype === 'F32') {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)];
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/** Encodes float32 values as little-endian bytes of `dtype`. */
export function encodeFromFloat32(values: Float32Array, dtype: StorageDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint16Array(values.length);
  if (dtype === 'BF16') {
    // Inline round-to-nearest-even on the bit pattern: this runs over every generated weight.
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      out[i] = (x & 0x7fffffff) > 0x7f800000 ? ((x >>> 16) | 0x40) & 0xffff : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    }
  } else {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) out[i] = floatBitsToHalf(bits[i]);
  }
  const bytes = new Uint8Array(out.buffer);
  if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1], bytes[i]];
  return bytes;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
