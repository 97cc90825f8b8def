// HQQ's quantizer (quantizers.md §4) on group-major data: min-max inverse scale s^ (never changed) and a
// float zero z refined by the half-quadratic proximal solver (lp 0.7, beta 10, 20 iterations), all in fp32
// as HQQ does on the CPU. Codes use the unrounded s^ and z; the stored metadata is scale = meta(1/s^) and
// zero = meta(z), and dequantization x^ = fround(fround(q - zero) * scale) uses the stored (rounded) values.
//
// Modes:
// * faithful: HQQ's legacy solver exactly: 1e-4 range guard (s^ = 1), s^ clamped at 2e4, one error for the
//   whole tensor (mean |x - x^|, with the zero that entered the step), initial best 1e4 as in the code,
//   global early stop at the first non-improvement, and the returned z is the last one computed (not the
//   best), i.e. quirk 1 of §4.3. beta is not multiplied by kappa (legacy solver).
// * clean: no 1e-4 guard and no 2e4 clamp (plain min-max init; s^ capped only where fp16 metadata needs
//   it, cleanInvScaleLimit), computed on x - m for fp32 conditioning (see the loop), and each group
//   keeps the zero with the smallest reconstruction error it evaluated (with the rounded metadata that
//   dequantize uses), stopping at its own first non-improvement. The min-max zero is the first
//   candidate, so a group's error never exceeds min-max's (in this parametrization).
// Non-finite members are excluded everywhere (min/max, solver means, error) and get code 0.

import type { HqqMode, MetaDtype } from './config';
import { groupMinMax, type GroupedCodes } from './quanto';
import { RNE_MAGIC, roundMeta } from './rounding';
import { maxCode } from './widths';

export const HQQ_LP_NORM = 0.7;
export const HQQ_BETA = 10;
export const HQQ_ITERS = 20;
const SHRINK = Math.fround(1 / HQQ_BETA);
const EXPONENT = Math.fround(HQQ_LP_NORM - 1); // torch.pow takes the exponent in the tensor's dtype
const DENOM_GUARD = Math.fround(1e-4);
const INV_SCALE_MAX = 2e4;
const FAITHFUL_INITIAL_BEST = 1e4;

export interface HqqInfo {
  /** Solver iterations run (faithful: global count; clean: the most any group ran). */
  iterations: number;
}

function quantizeCode(x: number, invScale: number, zero: number, Q: number): number {
  const t = Math.fround(Math.fround(x * invScale) + zero);
  const r = t + RNE_MAGIC - RNE_MAGIC;
  return r > Q ? Q : r > 0 ? r : 0;
}

// Below this |d|, (1/beta)|d|^(p-1) >= |d| so the shrinkage is exactly 0 and pow can be skipped
// (the crossing is at 0.1^(1/1.3) = 0.17013; the margin dwarfs fp32 rounding).
const SHRINK_ZERO_BELOW = 0.17;

/**
 * One pass over group [o, o+G) with zero z, on x' = x - offset (offset 0 in faithful mode; the group min
 * in clean mode, see below). Returns the solver's next zero and adds to acc:
 * [0] sum |x - x^| with HQQ's unrounded x^ = (q - z)/s^ (the faithful error), [1] the finite count,
 * [2] sum |x - x^| with x^ = (q - zeroR)*scaleR as dequantize computes it (the clean error).
 */
function solverPass(
  xg: Float32Array,
  o: number,
  G: number,
  invScale: number,
  z: number,
  Q: number,
  scaleR: number,
  zeroR: number,
  offset: number,
  acc: Float64Array,
): number {
  let zSum = 0;
  let errSum = 0;
  let recSum = 0;
  let count = 0;
  for (let i = o; i < o + G; i++) {
    const x0 = xg[i];
    if (x0 - x0 !== 0) continue;
    const x = Math.fround(x0 - offset);
    const t = Math.fround(Math.fround(x * invScale) + z);
    const r = t + RNE_MAGIC - RNE_MAGIC;
    const q = r > Q ? Q : r > 0 ? r : 0;
    const xr = Math.fround(Math.fround(q - z) / invScale);
    const d = Math.fround(x - xr);
    const a = Math.abs(d);
    errSum += a;
    recSum += Math.abs(x0 - Math.fround(Math.fround(q - zeroR) * scaleR));
    // shrink_lp(d) = sign(d) * relu(|d| - (1/beta)|d|^(p-1)); exp/log is twice as fast as Math.pow here
    // and equal after rounding to fp32 (HQQ's powf is no more exact).
    let e = 0;
    if (a >= SHRINK_ZERO_BELOW) {
      const shrunk = Math.fround(a - Math.fround(SHRINK * Math.fround(Math.exp(EXPONENT * Math.log(a)))));
      if (shrunk > 0) e = d > 0 ? shrunk : -shrunk;
    }
    zSum += Math.fround(q - Math.fround(Math.fround(x - e) * invScale));
    count++;
  }
  acc[0] += errSum;
  acc[1] += count;
  acc[2] += recSum;
  return count > 0 ? Math.fround(zSum / count) : z;
}

/**
 * Clean mode's cap on s^: only what the metadata dtype needs. fp16 keeps the stored zero z = z' - m*s^
 * finite with headroom for the solver's z' (|m|*s^ <= 2^15, half of fp16's 65504) and the scale 1/s^ a
 * normal fp16 number (s^ <= 2^14): x^ = (q - z)*scale multiplies the scale's relative error by |z|, so a
 * subnormal scale (11 bits lost) would shift the whole group. (HQQ's 2e4 clamp exists for the same
 * reason.) fp32/bf16 only avoid overflow (2^100).
 */
export function cleanInvScaleLimit(maxAbs: number, metaDtype: MetaDtype): number {
  const cap = metaDtype === 'fp16' ? 2 ** 14 : 2 ** 100;
  const limit = Math.fround((metaDtype === 'fp16' ? 2 ** 15 : 2 ** 100) / maxAbs); // Infinity when maxAbs = 0
  return limit < cap ? limit : cap;
}

export function hqqQuantizeGrouped(
  xg: Float32Array,
  groupSize: number,
  bits: number,
  metaDtype: MetaDtype,
  mode: HqqMode,
  out: GroupedCodes,
): HqqInfo {
  const G = groupSize;
  const groups = xg.length / G;
  const Q = maxCode(bits); // 1.58: Q = 2 (HQQ's ternary)
  const invScales = new Float32Array(groups);
  const zeros = new Float32Array(groups); // faithful: z; clean: z' (see below)
  const offsets = new Float32Array(groups); // clean: group min m; faithful: 0
  const mm = new Float64Array(2);
  const acc = new Float64Array(3);
  const faithful = mode === 'faithful';

  for (let g = 0; g < groups; g++) {
    groupMinMax(xg, g * G, G, mm);
    const m = mm[0];
    const denom = Math.fround(mm[1] - m);
    let invScale: number;
    if (faithful) {
      invScale = Math.abs(denom) <= DENOM_GUARD ? 1 : Math.fround(Q / denom);
      if (invScale > INV_SCALE_MAX) invScale = INV_SCALE_MAX;
    } else if (denom === 0) {
      invScale = 1; // constant group: codes 0, x^ = (0 - (-m)) * 1 = m exactly
    } else {
      invScale = Math.fround(Q / denom);
      const limit = cleanInvScaleLimit(Math.max(Math.abs(m), Math.abs(mm[1])), metaDtype);
      if (invScale > limit) invScale = limit;
    }
    invScales[g] = invScale;
    if (faithful) zeros[g] = Math.fround(-m * invScale);
    else offsets[g] = m; // z'0 = 0 is the min-max zero
  }

  let iterations = 0;
  if (faithful) {
    const next = new Float32Array(groups);
    let best = FAITHFUL_INITIAL_BEST;
    for (let it = 0; it < HQQ_ITERS; it++) {
      acc.fill(0);
      for (let g = 0; g < groups; g++) next[g] = solverPass(xg, g * G, G, invScales[g], zeros[g], Q, 1, 0, 0, acc);
      zeros.set(next); // z is overwritten before the comparison: the returned z is one step past the best
      iterations++;
      const err = Math.fround(acc[0] / acc[1]); // NaN when nothing is finite: stops, as HQQ does
      if (err < best) best = err;
      else break;
    }
  } else {
    // x*s^ + z cancels catastrophically in fp32 when |m|*s^ >> Q (tiny ranges, large offsets), so clean
    // mode runs the same solver on x' = x - m with z' = z + m*s^ (exactly equivalent in real arithmetic;
    // x - m is exact for close values) and stores z = z' - m*s^. Candidates z'0 = 0 (min-max), z'1, ...,
    // z'20 are evaluated in order; a group stops at its first non-improvement.
    for (let g = 0; g < groups; g++) {
      const o = g * G;
      const invScale = invScales[g];
      const m = offsets[g];
      const mScaled = Math.fround(m * invScale);
      const scaleR = roundMeta(Math.fround(1 / invScale), metaDtype);
      let z = zeros[g];
      let bestZ = z;
      let best = Infinity;
      let it = 0;
      for (;;) {
        acc.fill(0);
        const next = solverPass(xg, o, G, invScale, z, Q, scaleR, roundMeta(Math.fround(z - mScaled), metaDtype), m, acc);
        const err = acc[1] > 0 ? acc[2] / acc[1] : 0;
        if (err < best) {
          best = err;
          bestZ = z;
        } else break;
        if (it === HQQ_ITERS) break;
        z = next;
        it++;
      }
      zeros[g] = bestZ;
      if (it > iterations) iterations = it;
    }
  }

  const { codes } = out;
  for (let g = 0; g < groups; g++) {
    const o = g * G;
    const invScale = invScales[g];
    const z = zeros[g];
    const m = offsets[g];
    for (let i = o; i < o + G; i++) {
      const x = xg[i];
      codes[i] = x - x === 0 ? quantizeCode(Math.fround(x - m), invScale, z, Q) : 0;
    }
    out.scales[g] = roundMeta(Math.fround(1 / invScale), metaDtype);
    out.zeros[g] = roundMeta(faithful ? z : Math.fround(z - Math.fround(m * invScale)), metaDtype);
  }
  return { iterations };
}

export function hqqDequantizeGrouped(codes: Uint8Array, scales: Float32Array, zeros: Float32Array, groupSize: number, out: Float32Array): void {
  const G = groupSize;
  const groups = scales.length;
  for (let g = 0; g < groups; g++) {
    const s = scales[g];
    const z = zeros[g];
    const o = g * G;
    for (let i = o; i < o + G; i++) out[i] = Math.fround(codes[i] - z) * s;
  }
}
