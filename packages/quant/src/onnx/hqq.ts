// HQQ's quantizer in a graph (hqq.ts, quantizers.md §4): min-max inverse scale s^ and a float zero z
// refined by 20 unrolled steps of the half-quadratic proximal solver (lp 0.7, beta 10), with the same fp32
// operations as TypeScript. TypeScript accumulates group sums in float64; here they are summed exactly
// enough (exactGroupSum, SplitSum) that zeros and the stop decisions come out the same.
//
// * faithful: z on x itself; one error for the whole tensor; a scalar `active` flag reproduces the
//   global early stop (z is overwritten before the comparison, quirk 1) with Where on the scalar.
// * clean: the solver runs on x' = x - m with z' = z + m*s^ (TypeScript's fp32 conditioning), candidates
//   z'_0 = 0 .. z'_20 are scored by the reconstruction error with the rounded metadata, and a per-group
//   `active` mask keeps the best one up to the group's first non-improvement. Stored zero = z' - m*s^.
// Non-finite members are excluded from min/max and from every mean (a 0/1 weight), and get code 0.

import type { GraphBuilder, Value } from '@kvbench/onnx';
import type { QuantizerConfig } from '../config';
import { HQQ_BETA, HQQ_ITERS, HQQ_LP_NORM } from '../hqq';
import { maxCode } from '../widths';
import { emitBoolToFloat, emitClampRne, emitRoundMeta, f32 } from './ops';
import { emitGroupMinMax, type GuardedView } from './quanto';

const DENOM_GUARD = Math.fround(1e-4);
const INV_SCALE_MAX = 2e4;
const FAITHFUL_INITIAL_BEST = 1e4;
const FLT_MAX = 3.4028234663852886e38;
/** Below this |e| the shrinkage is 0 anyway (|e| - 0.1|e|^-0.3 < 0 for |e| < 0.17); avoids Pow(0, -0.3). */
const POW_FLOOR = 1e-30;

export interface HqqGroups {
  q: Value;
  /** Stored metadata, rounded to metaDtype: scale = 1/s^, zero = z. */
  scale: Value;
  zero: Value;
  /** Solver steps taken (faithful: global; clean: most of any group), as a float32 scalar. */
  iterations: Value;
}

interface Members {
  x: Value; // finite stand-in (non-finite -> 0)
  weight: Value | null; // 1 for finite members, null when all are finite
  count: Value; // finite members per group (keepdims)
  axes: Value;
}

/**
 * Per-group sum rounded once to fp32, as TypeScript's float64 sum then fround: each term is split into
 * a part on a common grid (magic-number rounding against C = 384 * max|t|, grid ~ max|t| * 2^-15, so up
 * to 256 parts sum exactly in fp32) and a remainder below half the grid (whose sum is exact to ~2^-39
 * of max|t|); one final Add rounds. A plain fp32 ReduceSum is off by up to G ulps, enough to flip the
 * solver at ties and clean mode's per-group stop decisions.
 */
function exactGroupSum(g: GraphBuilder, v: Value, m: Members): Value {
  const t = m.weight ? g.op('Mul', [v, m.weight]) : v;
  const c = g.op('Mul', [g.op('ReduceMax', [g.op('Abs', [t]), m.axes], { keepdims: 1 }), f32(g, 384)]);
  const onGrid = g.op('Sub', [g.op('Add', [t, c]), c]);
  const rest = g.op('Sub', [t, onGrid]);
  return g.op('Add', [g.op('ReduceSum', [onGrid, m.axes], { keepdims: 1 }), g.op('ReduceSum', [rest, m.axes], { keepdims: 1 })]);
}

function codes(g: GraphBuilder, m: Members, invScale: Value, z: Value, Q: number): Value {
  return emitClampRne(g, g.op('Add', [g.op('Mul', [m.x, invScale]), z]), Q);
}

/** One proximal step from codes q at zero z: the new zero and the per-group sum of |x - x^|. */
function solverStep(g: GraphBuilder, m: Members, q: Value, invScale: Value, z: Value): { z: Value; errSum: Value } {
  const xr = g.op('Div', [g.op('Sub', [q, z]), invScale]);
  const d = g.op('Sub', [m.x, xr]);
  const a = g.op('Abs', [d]);
  const pw = g.op('Pow', [g.op('Clip', [a, f32(g, POW_FLOOR), f32(g, FLT_MAX)]), f32(g, HQQ_LP_NORM - 1)]);
  const shrunk = g.op('Clip', [g.op('Sub', [a, g.op('Mul', [f32(g, 1 / HQQ_BETA), pw])]), f32(g, 0), f32(g, FLT_MAX)]);
  const e = g.op('Where', [g.op('Less', [d, f32(g, 0)]), g.op('Sub', [f32(g, 0), shrunk]), shrunk]);
  const term = g.op('Sub', [q, g.op('Mul', [g.op('Sub', [m.x, e]), invScale])]);
  const zNew = g.op('Div', [exactGroupSum(g, term, m), m.count]);
  // A group without finite members keeps its zero (TypeScript: count 0 -> z).
  const zKept = m.weight ? g.op('Where', [g.op('Equal', [m.count, f32(g, 0)]), z, zNew]) : zNew;
  return { z: zKept, errSum: exactGroupSum(g, a, m) };
}

/** A per-group sum held exactly-ish as two fp32 parts: one on the grid of `c`, one below it. */
interface SplitSum {
  onGrid: Value;
  onGrid2: Value;
  rest: Value;
}

/**
 * Sum over each group of |x - x^| with the metadata rounded as dequantize uses it (clean mode's
 * criterion), split on a grid fixed per group (`c`) so that two iterations compare exactly: TypeScript
 * compares float64 means, which often differ by less than an fp32 ulp.
 */
function reconstructionError(g: GraphBuilder, m: Members, q: Value, scale: Value, zero: Value, c: Value): SplitSum {
  const xh = g.op('Mul', [g.op('Sub', [q, zero]), scale]);
  // TypeScript takes x - x^ in float64 (exact): keep the fp32 difference and its rounding error
  // (TwoSum), and add the error with the difference's sign to the sum.
  const diff = g.op('Sub', [m.x, xh]);
  const xBack = g.op('Add', [diff, xh]);
  const xhBack = g.op('Sub', [xBack, diff]);
  const roundoff = g.op('Sub', [g.op('Sub', [m.x, xBack]), g.op('Sub', [xh, xhBack])]);
  let t = g.op('Abs', [diff]);
  let signed = g.op('Where', [g.op('Less', [diff, f32(g, 0)]), g.op('Sub', [f32(g, 0), roundoff]), roundoff]);
  if (m.weight) {
    t = g.op('Mul', [t, m.weight]);
    signed = g.op('Mul', [signed, m.weight]);
  }
  const onGrid = g.op('Sub', [g.op('Add', [t, c]), c]);
  const rest = g.op('Sub', [t, onGrid]);
  // Second level: the remainders on a grid 2^-16 finer, then what is left (~2^-46 of the bound).
  const c2 = g.op('Mul', [c, f32(g, 2 ** -16)]);
  const onGrid2 = g.op('Sub', [g.op('Add', [rest, c2]), c2]);
  const rest2 = g.op('Sub', [rest, onGrid2]);
  const sum = (v: Value) => g.op('ReduceSum', [v, m.axes], { keepdims: 1 });
  return { onGrid: sum(onGrid), onGrid2: sum(onGrid2), rest: g.op('Add', [sum(rest2), sum(signed)]) };
}

/** a < b for split sums: the grid parts subtract exactly, and an fp32 add never flips a sign. */
function splitLess(g: GraphBuilder, a: SplitSum, b: SplitSum): Value {
  const d1 = g.op('Sub', [a.onGrid, b.onGrid]);
  const d2 = g.op('Sub', [a.onGrid2, b.onGrid2]);
  const diff = g.op('Add', [g.op('Add', [d1, d2]), g.op('Sub', [a.rest, b.rest])]);
  return g.op('Less', [diff, f32(g, 0)]);
}

function initialInvScale(g: GraphBuilder, min: Value, max: Value, cfg: QuantizerConfig): Value {
  const Q = maxCode(cfg.bits);
  const denom = g.op('Sub', [max, min]);
  const plain = g.op('Div', [f32(g, Q), denom]);
  if (cfg.hqqMode === 'faithful') {
    const guarded = g.op('Where', [g.op('Less', [f32(g, DENOM_GUARD), denom]), plain, f32(g, 1)]);
    return g.op('Clip', [guarded, f32(g, 0), f32(g, INV_SCALE_MAX)]);
  }
  const inv = g.op('Where', [g.op('Equal', [denom, f32(g, 0)]), f32(g, 1), plain]);
  // hqq.ts cleanInvScaleLimit: fp16 keeps |m|*s^ <= 65504 and s^ <= 2^24; otherwise only s^ <= 2^100/max|x|.
  const fp16 = cfg.metaDtype === 'fp16';
  const absMin = g.op('Abs', [min]);
  const absMax = g.op('Abs', [max]);
  const big = g.op('Where', [g.op('Less', [absMin, absMax]), absMax, absMin]);
  const limit = g.op('Clip', [g.op('Div', [f32(g, fp16 ? 65504 : 2 ** 100), big]), f32(g, 0), f32(g, fp16 ? 2 ** 24 : 2 ** 100)]);
  return g.op('Where', [g.op('Less', [limit, inv]), limit, inv]);
}

export function emitHqqQuantize(g: GraphBuilder, view: GuardedView, memberAxis: number, cfg: QuantizerConfig): HqqGroups {
  const Q = maxCode(cfg.bits);
  const axes = g.ints([memberAxis]);
  const { min, max } = emitGroupMinMax(g, view, memberAxis);
  let m: Members;
  if (view.finite) {
    const weight = emitBoolToFloat(g, view.finite);
    m = { x: g.op('Where', [view.finite, view.forMax, f32(g, 0)]), weight, count: g.op('ReduceSum', [weight, axes], { keepdims: 1 }), axes };
  } else {
    m = { x: view.forMax, weight: null, count: f32(g, cfg.groupSize), axes };
  }
  const invScale = initialInvScale(g, min, max, cfg);
  const scale = emitRoundMeta(g, g.op('Div', [f32(g, 1), invScale]), cfg.metaDtype);
  let iterations = f32(g, 0);

  if (cfg.hqqMode === 'faithful') {
    let z = g.op('Mul', [g.op('Mul', [min, f32(g, -1)]), invScale]);
    const total = g.op('ReduceSum', [m.count], { keepdims: 0 });
    let best = f32(g, FAITHFUL_INITIAL_BEST);
    let active = g.constant('bool', [], [1]);
    for (let it = 0; it < HQQ_ITERS; it++) {
      const q = codes(g, m, invScale, z, Q);
      const step = solverStep(g, m, q, invScale, z);
      const err = g.op('Div', [g.op('ReduceSum', [step.errSum], { keepdims: 0 }), total]);
      iterations = g.op('Add', [iterations, emitBoolToFloat(g, active)]);
      z = g.op('Where', [active, step.z, z]); // overwritten before the comparison (quirk 1)
      const improved = g.op('And', [active, g.op('Less', [err, best])]);
      best = g.op('Where', [improved, err, best]);
      active = improved;
    }
    // Final codes from the -Inf stand-in, so non-finite members get code 0 as in TypeScript.
    const q = codes(g, { ...m, x: view.forMax }, invScale, z, Q);
    return { q, scale, zero: emitRoundMeta(g, z, cfg.metaDtype), iterations };
  }

  // clean: everything on x' = x - m (exact for close values), zero z' = z + m*s^.
  const shifted: Members = { ...m, x: g.op('Sub', [m.x, min]) };
  const mScaled = g.op('Mul', [min, invScale]);
  const storedZero = (zp: Value) => emitRoundMeta(g, g.op('Sub', [zp, mScaled]), cfg.metaDtype);
  // Error grid: 768 * a bound on |x - x^| (|x| + (Q + |m|*s^) * scale).
  const absMin = g.op('Abs', [min]);
  const absMax = g.op('Abs', [max]);
  const xBound = g.op('Where', [g.op('Less', [absMin, absMax]), absMax, absMin]);
  const xhBound = g.op('Mul', [g.op('Add', [g.op('Abs', [mScaled]), f32(g, Q)]), scale]);
  const grid = g.op('Mul', [g.op('Add', [xBound, xhBound]), f32(g, 768)]);
  let z: Value = g.op('Mul', [min, f32(g, 0)]); // z'_0 = 0: the min-max zero, per group
  let best: SplitSum | null = null;
  let bestZ = z;
  let active: Value | null = null;
  for (let k = 0; k <= HQQ_ITERS; k++) {
    const q = codes(g, shifted, invScale, z, Q);
    const err = reconstructionError(g, m, q, scale, storedZero(z), grid);
    if (best === null) {
      best = err; // the first candidate always wins (err < +Infinity)
    } else {
      const improved: Value = active ? g.op('And', [active, splitLess(g, err, best)]) : splitLess(g, err, best);
      const keep = (key: keyof SplitSum) => g.op('Where', [improved, err[key], best![key]]);
      best = { onGrid: keep('onGrid'), onGrid2: keep('onGrid2'), rest: keep('rest') };
      bestZ = g.op('Where', [improved, z, bestZ]);
      active = improved;
    }
    if (k === HQQ_ITERS) break;
    // Step k+1 happens for the groups still active (all of them after the first candidate).
    iterations = g.op('Add', [iterations, active ? g.op('ReduceMax', [emitBoolToFloat(g, active)], { keepdims: 0 }) : f32(g, 1)]);
    z = solverStep(g, shifted, q, invScale, z).z;
  }
  const q = codes(g, { ...shifted, x: g.op('Sub', [view.forMax, min]) }, invScale, bestZ, Q);
  return { q, scale, zero: storedZero(bestZ), iterations };
}

export function emitHqqDequantize(g: GraphBuilder, q: Value, scale: Value, zero: Value): Value {
  return g.op('Mul', [g.op('Sub', [q, zero]), scale]);
}
