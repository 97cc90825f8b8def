// Rounding used by every quantizer: round-half-to-even (PyTorch/NumPy/ONNX Round semantics, unlike
// Math.round which rounds ties up) and emulation of the metadata dtypes fp16 / bf16 / fp32.

import type { MetaDtype } from './config';

/** 1.5 * 2^52: adding and subtracting it rounds a float64 to an integer with the FPU's ties-to-even. */
export const RNE_MAGIC = 6755399441055744;
const TWO_POW_51 = 2251799813685248;

/** Round half to even. Exact for every float64 (values of magnitude >= 2^51 are already integers). */
export function rne(v: number): number {
  return Math.abs(v) < TWO_POW_51 ? v + RNE_MAGIC - RNE_MAGIC : v;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export const FP16_MAX = 65504;
export const BF16_MAX = 3.3895313892515355e38;
const FP16_MIN_NORMAL = 6.103515625e-5; // 2^-14
const FP16_SUBNORMAL_ULP = 5.960464477539063e-8; // 2^-24

// 2^(e-10) for the fp32 exponents an fp16 normal can have (e in -14..15), looked up, not Math.pow'd.
const FP16_ULP = new Float64Array(32);
for (let e = -14; e <= 15; e++) FP16_ULP[e + 14] = 2 ** (e - 10);

/**
 * fp16 value nearest to the fp32 value of `x` (ties to even), as PyTorch's `.to(torch.float16)`:
 * beyond the range it gives +-Infinity, NaN stays NaN.
 */
export function roundFp16(x: number): number {
  const v = Math.fround(x);
  if (v !== v || v === Infinity || v === -Infinity) return v;
  const a = Math.abs(v);
  if (a >= 65520) return v > 0 ? Infinity : -Infinity; // 65504 + half an ulp rounds up to 2^16
  let ulp: number;
  if (a < FP16_MIN_NORMAL) ulp = FP16_SUBNORMAL_ULP;
  else {
    f32[0] = a;
    ulp = FP16_ULP[(u32[0] >>> 23) - 127 + 14];
  }
  const r = rne(a / ulp) * ulp; // a/ulp is exact: scaling by a power of two
  return v < 0 ? -r : v === 0 ? v : r; // keeps the sign of zero
}

/** bf16 value nearest to the fp32 value of `x` (ties to even), as `.to(torch.bfloat16)`. */
export function roundBf16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000) return f32[0]; // Inf and NaN pass through
  u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0];
}

/** Rounds to the metadata dtype (as a cast would; out-of-range values become +-Infinity). */
export function roundToDtype(x: number, dtype: MetaDtype): number {
  return dtype === 'fp32' ? Math.fround(x) : dtype === 'fp16' ? roundFp16(x) : roundBf16(x);
}

/** Largest finite value of the dtype. */
export function dtypeMax(dtype: MetaDtype): number {
  return dtype === 'fp32' ? 3.4028234663852886e38 : dtype === 'fp16' ? FP16_MAX : BF16_MAX;
}

/**
 * Rounds metadata (scales, zeros, shifts) to its dtype, saturating at the dtype's largest finite value
 * instead of overflowing: an fp16 shift of 1e5 would otherwise turn the whole group into +-Infinity.
 */
export function roundMeta(x: number, dtype: MetaDtype): number {
  const r = roundToDtype(x, dtype);
  if (r === Infinity) return roundToDtype(dtypeMax(dtype), dtype);
  if (r === -Infinity) return -roundToDtype(dtypeMax(dtype), dtype);
  return r;
}

export function metaBits(dtype: MetaDtype): number {
  return dtype === 'fp32' ? 32 : 16;
}
