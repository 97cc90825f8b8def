// Quanto's asymmetric min-max quantizer (quantizers.md §1, §3) on group-major data.
//
// Per group, in fp32 with the metadata rounded to its dtype BEFORE use (Quanto computes s and the shift
// in the model dtype and quantizes with them):
//   m, M  = min, max over the group's finite members
//   scale = meta(fround(fround(M - m) / Q)),  shift = meta(-m)
//   q     = scale == 0 ? 0 : clamp(rne(fround(fround(x + shift) / scale)), 0, Q)
//   x^    = fround(fround(scale * q) - shift)
// scale == 0 covers constant groups (the library's 0/0 is undefined; here q = 0 and x^ = -shift = m).
// Non-finite members are left out of min/max and get code 0; quantize.ts restores them on dequantize.

import type { MetaDtype } from './config';
import { RNE_MAGIC, roundMeta } from './rounding';
import { maxCode } from './widths';

export interface GroupedCodes {
  /** One code per element, group-major, unpacked. */
  codes: Uint8Array;
  scales: Float32Array;
  /** Quanto: shift (x^ = scale*q - shift). HQQ: zero (x^ = (q - zero)*scale). */
  zeros: Float32Array;
}

/** Finite min and max of xg[o .. o+G); [0, 0] when no member is finite. Returns the non-finite count. */
export function groupMinMax(xg: Float32Array, o: number, G: number, out: Float64Array): number {
  let m = Infinity;
  let M = -Infinity;
  let bad = 0;
  for (let i = o; i < o + G; i++) {
    const v = xg[i];
    if (v - v === 0) {
      if (v < m) m = v;
      if (v > M) M = v;
    } else bad++;
  }
  if (m > M) m = M = 0;
  out[0] = m;
  out[1] = M;
  return bad;
}

export function quantoQuantizeGrouped(xg: Float32Array, groupSize: number, bits: number, metaDtype: MetaDtype, out: GroupedCodes): void {
  const G = groupSize;
  const groups = xg.length / G;
  const Q = maxCode(bits); // 1.58: Q = 2, scale = (M - m)/2
  const { codes, scales, zeros } = out;
  const mm = new Float64Array(2);
  for (let g = 0; g < groups; g++) {
    const o = g * G;
    const bad = groupMinMax(xg, o, G, mm);
    const m = mm[0];
    const M = mm[1];
    const scale = roundMeta(Math.fround(Math.fround(M - m) / Q), metaDtype);
    const shift = roundMeta(-m, metaDtype);
    scales[g] = scale;
    zeros[g] = shift;
    if (scale === 0) {
      codes.fill(0, o, o + G);
      continue;
    }
    for (let i = o; i < o + G; i++) {
      const u = Math.fround(Math.fround(xg[i] + shift) / scale);
      const r = u + RNE_MAGIC - RNE_MAGIC;
      codes[i] = r > Q ? Q : r > 0 ? r : 0; // NaN -> 0
    }
    if (bad > 0) for (let i = o; i < o + G; i++) if (xg[i] - xg[i] !== 0) codes[i] = 0;
  }
}

export function quantoDequantizeGrouped(codes: Uint8Array, scales: Float32Array, shifts: Float32Array, groupSize: number, out: Float32Array): void {
  const G = groupSize;
  const groups = scales.length;
  for (let g = 0; g < groups; g++) {
    const s = scales[g];
    const shift = shifts[g];
    const o = g * G;
    for (let i = o; i < o + G; i++) out[i] = Math.fround(s * codes[i]) - shift; // stored to Float32Array = fround
  }
}
