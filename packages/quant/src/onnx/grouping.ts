// Group layouts inside a graph. Each layout is a reshape of the [B, H, S, D] tensor into a "group view"
// where one axis holds the G members of a group (reduced over for min/max), plus the moves that bring
// packed codes and metadata into the boundary format of formats.ts (and back).
//
// Packing runs of 8 codes need whole runs inside one axis: for per-token the view's last axis is already
// in group-major (flat) order; for the per-channel layouts the members of a group lie along an axis that
// is followed by exactly one more (D, or N/G for HQQ), so codes are packed along the second-last axis and
// only the b/8-sized packed tensor is transposed into group-major order, never the full tensor.

import type { GraphBuilder, Value } from '@kvbench/onnx';
import { QuantConfigError, type QuantizerConfig } from '../config';
import { checkGraphLayout } from './formats';

export type RunAxis = 'last' | 'second-last';

export interface GraphLayout {
  /** x [B,H,S,D] -> group view. */
  view(g: GraphBuilder, x: Value): Value;
  /** The axis of the group view that holds a group's members. */
  readonly memberAxis: number;
  /** Where runs of 8 codes lie once `toRuns` reshaped the view. */
  readonly runAxis: RunAxis;
  /** Group-view codes -> runs (the run axis has 8 codes). */
  toRuns(g: GraphBuilder, q: Value): Value;
  /** Packed runs (run axis now b bytes, as float) -> boundary codes shape (still float); b = storage bits. */
  packedToFormat(g: GraphBuilder, packed: Value, bits: number): Value;
  /** Boundary codes (float) -> packed runs, the inverse of packedToFormat. */
  formatToPacked(g: GraphBuilder, codes: Value, bits: number): Value;
  /** Runs of 8 codes -> group view. */
  fromRuns(g: GraphBuilder, q: Value): Value;
  /** Per-group statistic (keepdims in the group view) -> boundary metadata shape, and back. */
  metaToFormat(g: GraphBuilder, m: Value): Value;
  metaFromFormat(g: GraphBuilder, m: Value): Value;
  /** Group view -> [B, H, S, D]. */
  toKv(g: GraphBuilder, v: Value): Value;
}

export interface LayoutDims {
  headDim: number;
  /** Static batch and heads, needed by the layouts that flatten them away (requantize layouts). */
  batch?: number;
  heads?: number;
}

const reshape = (g: GraphBuilder, v: Value, shape: number[]) => g.op('Reshape', [v, g.ints(shape)]);
const transpose = (g: GraphBuilder, v: Value, perm: number[]) => g.op('Transpose', [v], { perm });

export function graphLayout(cfg: QuantizerConfig, dims: LayoutDims): GraphLayout {
  checkGraphLayout(cfg, dims.headDim);
  const G = cfg.groupSize;
  const D = dims.headDim;
  const runs = G / 8;
  const kvShape = (): number[] => {
    if (!Number.isInteger(dims.batch) || !Number.isInteger(dims.heads)) {
      throw new QuantConfigError('batch', `${cfg.axis} in a graph needs static batch and heads to rebuild [B,H,S,D]`);
    }
    return [dims.batch!, dims.heads!, -1, D];
  };
  switch (cfg.axis) {
    case 'per-token':
      return {
        view: (g, x) => reshape(g, x, [0, 0, -1, G]),
        memberAxis: 3,
        runAxis: 'last',
        toRuns: (g, q) => reshape(g, q, [0, 0, -1, 8]),
        packedToFormat: (g, p, b) => reshape(g, p, [0, 0, -1, (D * b) / 8]),
        formatToPacked: (g, c, b) => reshape(g, c, [0, 0, -1, b]),
        fromRuns: (g, q) => reshape(g, q, [0, 0, -1, G]),
        metaToFormat: (g, m) => reshape(g, m, [0, 0, -1, G <= D ? D / G : 1]),
        // With one group per row (G = D) the view is [B, H, S, D] and the metadata [B, H, S, 1] already:
        // no-op Reshapes left out (six nodes fewer per decoder layer; no measurable step time on the H100).
        metaFromFormat: (g, m) => (G === D ? m : reshape(g, m, [0, 0, -1, 1])),
        toKv: (g, v) => (G === D ? v : reshape(g, v, [0, 0, -1, D])),
      };
    case 'per-channel':
      // View [B, H, S/G, G, D]; group-major order is [B, H, S/G, D, G].
      return {
        view: (g, x) => reshape(g, x, [0, 0, -1, G, D]),
        memberAxis: 3,
        runAxis: 'second-last',
        toRuns: (g, q) => reshape(g, q, [0, 0, 0, runs, 8, D]),
        packedToFormat: (g, p, b) => reshape(g, transpose(g, p, [0, 1, 2, 5, 3, 4]), [0, 0, 0, D, (G * b) / 8]),
        formatToPacked: (g, c, b) => transpose(g, reshape(g, c, [0, 0, 0, D, runs, b]), [0, 1, 2, 4, 5, 3]),
        fromRuns: (g, q) => reshape(g, q, [0, 0, 0, G, D]),
        metaToFormat: (g, m) => reshape(g, m, [0, 0, 0, D]),
        metaFromFormat: (g, m) => reshape(g, m, [0, 0, 0, 1, D]),
        toKv: (g, v) => reshape(g, v, [0, 0, -1, D]),
      };
    case 'quanto-per-channel':
      // View [R/G, G, D] of the [R = B*H*S, D] matrix; group order g = d*(R/G) + block: [D, R/G, G].
      return {
        view: (g, x) => reshape(g, x, [-1, G, D]),
        memberAxis: 1,
        runAxis: 'second-last',
        toRuns: (g, q) => reshape(g, q, [-1, runs, 8, D]),
        packedToFormat: (g, p, b) => reshape(g, transpose(g, p, [3, 0, 1, 2]), [D, -1, (G * b) / 8]),
        formatToPacked: (g, c, b) => transpose(g, reshape(g, c, [D, -1, runs, b]), [1, 2, 3, 0]),
        fromRuns: (g, q) => reshape(g, q, [-1, G, D]),
        metaToFormat: (g, m) => transpose(g, reshape(g, m, [-1, D]), [1, 0]),
        metaFromFormat: (g, m) => reshape(g, transpose(g, m, [1, 0]), [-1, 1, D]),
        toKv: (g, v) => reshape(g, v, kvShape()),
      };
    case 'hqq-per-channel':
      // View [G, N/G]: group j is column j (members strided by N/G); group order [N/G, G].
      return {
        view: (g, x) => reshape(g, x, [G, -1]),
        memberAxis: 0,
        runAxis: 'second-last',
        toRuns: (g, q) => reshape(g, q, [runs, 8, -1]),
        packedToFormat: (g, p, b) => reshape(g, transpose(g, p, [2, 0, 1]), [-1, (G * b) / 8]),
        formatToPacked: (g, c, b) => transpose(g, reshape(g, c, [-1, runs, b]), [1, 2, 0]),
        fromRuns: (g, q) => reshape(g, q, [G, -1]),
        metaToFormat: (g, m) => reshape(g, m, [-1]),
        metaFromFormat: (g, m) => reshape(g, m, [1, -1]),
        toKv: (g, v) => reshape(g, v, kvShape()),
      };
  }
}
