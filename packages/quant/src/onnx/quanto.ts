// Quanto's min-max quantizer in a graph, the same fp32 operations in the same order as quanto.ts:
//   scale = meta((M - m) / Q), shift = meta(-m)
//   q     = scale == 0 ? 0 : clamp(rne((x + shift) / scale), 0, Q)
//   x^    = scale * q - shift
// Non-finite members are left out of min/max and get code 0, as in TypeScript.

import type { GraphBuilder, Value } from '@kvbench/onnx';
import type { QuantizerConfig } from '../config';
import { maxCode } from '../widths';
import { emitClampRne, emitIsFinite, emitRoundMeta, f32 } from './ops';

/** The group view split for min/max and coding, with non-finite members neutralized. */
export interface GuardedView {
  /** For min: non-finite members are +Inf. */
  forMin: Value;
  /** For max and for coding: non-finite members are -Inf (their code clamps to 0). */
  forMax: Value;
  /** Finite mask (bool), null when the caller promised finite input. */
  finite: Value | null;
}

export function emitGuardedView(g: GraphBuilder, xv: Value, assumeFinite: boolean): GuardedView {
  if (assumeFinite) return { forMin: xv, forMax: xv, finite: null };
  const finite = emitIsFinite(g, xv);
  return {
    forMin: g.op('Where', [finite, xv, f32(g, Infinity)]),
    forMax: g.op('Where', [finite, xv, f32(g, -Infinity)]),
    finite,
  };
}

/** Finite min and max of each group (keepdims); [0, 0] for a group without finite members. */
export function emitGroupMinMax(g: GraphBuilder, v: GuardedView, memberAxis: number): { min: Value; max: Value } {
  const axes = g.ints([memberAxis]);
  let min = g.op('ReduceMin', [v.forMin, axes], { keepdims: 1 });
  let max = g.op('ReduceMax', [v.forMax, axes], { keepdims: 1 });
  if (v.finite) {
    min = g.op('Where', [g.op('Equal', [min, f32(g, Infinity)]), f32(g, 0), min]);
    max = g.op('Where', [g.op('Equal', [max, f32(g, -Infinity)]), f32(g, 0), max]);
  }
  return { min, max };
}

export interface QuantoGroups {
  /** Codes as fp32 integers in [0, Q], in the group view. */
  q: Value;
  /** Per group, keepdims, rounded to metaDtype (fp32 values). */
  scale: Value;
  shift: Value;
}

export function emitQuantoQuantize(g: GraphBuilder, v: GuardedView, memberAxis: number, cfg: QuantizerConfig): QuantoGroups {
  const Q = maxCode(cfg.bits);
  const { min, max } = emitGroupMinMax(g, v, memberAxis);
  const scale = emitRoundMeta(g, g.op('Div', [g.op('Sub', [max, min]), f32(g, Q)]), cfg.metaDtype);
  const shift = emitRoundMeta(g, g.op('Mul', [min, f32(g, -1)]), cfg.metaDtype);
  // A zero scale (constant group, or a range below the metadata dtype's resolution) codes everything 0:
  // dividing by the largest float sends every finite x + shift of a real group below 0.5.
  const divisor = g.op('Where', [g.op('Equal', [scale, f32(g, 0)]), f32(g, 3.4028234663852886e38), scale]);
  const u = g.op('Div', [g.op('Add', [v.forMax, shift]), divisor]);
  return { q: emitClampRne(g, u, Q), scale, shift };
}

export function emitQuantoDequantize(g: GraphBuilder, q: Value, scale: Value, shift: Value): Value {
  return g.op('Sub', [g.op('Mul', [scale, q]), shift]);
}
