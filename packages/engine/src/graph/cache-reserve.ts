// Rows reserved ahead in the cache (runtime/cache-reserve.ts). With fused attention the decoder reads a
// right-padded past (GroupQueryAttention attends to seqlens_k + 1 positions and returns a present as long
// as its past), so a cache given spare rows keeps one size from step to step, and so do the device
// buffers of every decode step. Here: the reserve graph that adds rows to cache tensors (a full-precision
// residual, or the parts of a packed history), and the row helpers the decoder and flush graphs share.
import { GraphBuilder, type Value } from '@kvbench/onnx';
import type { TensorCodec } from '../codec';
import type { BoundaryTensor } from './cache-boundary';

/** int64 [8]: Pad's pads, [0, 0, 0, 0, 0, 0, added rows, 0]. */
export const RESERVE_PADS = 'pads';
/** int64 [1]: the rows kept after padding (fewer than the tensor's own crops its spare rows off). */
export const RESERVE_ROWS = 'rows';
export const reserveIn = (i: number) => `cache.${i}`;
export const reserveOut = (i: number) => `reserved.${i}`;

/** Float tensors can also lose spare rows (RESERVE_ROWS); codes only gain rows (WebGPU has no integer Slice). */
export const reserveCuts = (parts: Pick<BoundaryTensor, 'dtype'>[]): boolean => parts.every((p) => p.dtype !== 'uint8');

/**
 * One graph for tensors of these formats ([B, H, rows, X], rows on axis 2), each given the same rows:
 * padded with zero rows, and for float formats (reserveCuts) then cut to RESERVE_ROWS, so the same graph
 * also drops a residual's spare rows.
 */
export function buildReserveGraph(parts: Pick<BoundaryTensor, 'dtype' | 'shape'>[], deviceSafe: boolean): GraphBuilder {
  const g = new GraphBuilder('kvbench-cache-reserve');
  const pads = g.input(RESERVE_PADS, 'int64', [8]);
  const rows = reserveCuts(parts) ? g.input(RESERVE_ROWS, 'int64', [1]) : null;
  parts.forEach((p, i) => {
    if (p.shape.length !== 4) throw new Error(`cache reserve: part ${i} has rank ${p.shape.length}, want 4 (rows on axis 2)`);
    const x = g.input(reserveIn(i), p.dtype, p.shape);
    // WebGPU has no uint8 Pad: codes go through int32.
    const wide = p.dtype === 'uint8' && deviceSafe;
    const padded = g.op('Pad', [wide ? g.op('Cast', [x], { to: 6 }) : x, pads], { mode: 'constant' });
    const kept = rows ? g.op('Slice', [padded, g.ints([0]), rows, g.ints([2])]) : padded;
    g.output(wide ? g.op('Cast', [kept], { to: 2 }) : kept, reserveOut(i), p.dtype, [p.shape[0], p.shape[1], 'reserved_rows', p.shape[3]]);
  });
  return g;
}

/** True when every part of the codec's history has one row per token on axis 2 (rank 4). */
export function rowPerToken(codec: TensorCodec): boolean {
  const n = 7 * codec.quantum; // a length every format takes
  return codec.appendAxis === 2 && codec.format(n).every((p) => p.shape.length === 4 && p.shape[2] === n);
}

/** Where a block of rows goes in a larger tensor (see reservePads). */
export interface RowSpan {
  /** Rows before the block (a history's tokens). */
  before: number;
  /** Rows of the tensor placed there. */
  rows: number;
  /** Rows of the tensor it is placed into. */
  total: number;
}

/** Pad's pads that place [1, H, rows, X] at row `before` of a tensor of `total` rows. */
export function reservePads({ before, rows, total }: RowSpan): number[] {
  if (before < 0 || before + rows > total) throw new Error(`cache reserve: ${rows} rows at ${before} do not fit in ${total}`);
  return [0, 0, before, 0, 0, 0, total - before - rows, 0];
}

/**
 * `into` with `x` added over its rows from pads' offset: where `into` holds zeros there (the spare rows of
 * a reserved cache), that is `x` placed. Codes (uint8) add as int32 (no uint8 Add on the CPU or WebGPU).
 */
export function placeRows(g: GraphBuilder, into: Value, x: Value, pads: Value, codes: boolean): Value {
  const wide = (v: Value) => (codes ? g.op('Cast', [v], { to: 6 }) : v);
  const sum = g.op('Add', [wide(into), g.op('Pad', [wide(x), pads], { mode: 'constant' })]);
  return codes ? g.op('Cast', [sum], { to: 2 }) : sum;
}
