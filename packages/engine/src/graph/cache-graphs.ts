// The cache graphs: move the first n residual tokens of one layer's K (or V) into its history.
// append: the block is quantized (packed, or fake-quantized in simulated mode) and concatenated to the
// history, old blocks untouched. requantize: dequant(history) ++ block is quantized again as a whole
// (transformers' QuantizedCache). Weight-free and shape-dynamic, so one graph serves every layer.
import { GraphBuilder, type Value } from '@kvbench/onnx';
import type { TensorCodec } from '../codec';
import type { BoundaryTensor } from './cache-boundary';
import { placeRows, rowPerToken } from './cache-reserve';
import type { GraphDtype } from './precision';

export interface FlushGraphOptions {
  codec: TensorCodec;
  mode: 'packed' | 'simulated';
  /**
   * 'append': history ++ quant(block); 'requantize': quant(dequant(history) ++ block); 'start': the
   * history is empty (held as a zero-filled placeholder), so quant(block) alone; 'place': the history and
   * the residual hold rows reserved ahead (runtime/cache-reserve.ts): quant(block) is written over the
   * history's rows [h, h + n) and the residual shifts up by n, both keeping their sizes (packed mode,
   * codecs with one row per token).
   */
  kind: 'append' | 'requantize' | 'start' | 'place';
  kvHeads: number;
  headDim: number;
  dtype: GraphDtype;
  /** GPU providers: no uint8 Concat on WebGPU, so codes are concatenated as int32. */
  deviceSafe: boolean;
}

/** Identifies a flush graph (the codec by its key). */
export function flushGraphKey(o: FlushGraphOptions): string {
  return `flush|${JSON.stringify({ ...o, codec: o.codec.key })}`;
}

export const FLUSH_TOKENS = 'flush_tokens'; // int64 [1]
export const NON_FINITE = 'non_finite'; // float32 scalar: NaN/Inf among the flushed tokens
export const flushHistoryIn = (part: string | null) => (part ? `history.${part}` : 'history');
export const flushHistoryOut = (part: string | null) => (part ? `next.history.${part}` : 'next.history');
export const FLUSH_RESIDUAL_IN = 'residual';
/** int64 [8] ('place' only): Pad's pads that put the block at the history's tokens (reservePads). */
export const FLUSH_HISTORY_PADS = 'history_pads';
/** int64 [8] ('place' only): Pad's pads that give the rest of the residual its rows back. */
export const FLUSH_RESIDUAL_PADS = 'residual_pads';
export const FLUSH_RESIDUAL_OUT = 'next.residual';

export interface FlushGraph {
  graph: GraphBuilder;
  inputs: BoundaryTensor[];
  outputs: BoundaryTensor[];
}

export function buildFlushGraph(o: FlushGraphOptions): FlushGraph {
  const g = new GraphBuilder('kvbench-cache-flush');
  const { kvHeads: H, headDim: D, dtype, codec } = o;
  const inputs: BoundaryTensor[] = [];
  const outputs: BoundaryTensor[] = [];
  const input = (t: BoundaryTensor) => (inputs.push(t), g.input(t.name, t.dtype, t.shape));
  const output = (v: Value, t: BoundaryTensor) => (outputs.push(t), g.output(v, t.name, t.dtype, t.shape));

  const residual = input({ name: FLUSH_RESIDUAL_IN, dtype, shape: [1, H, 'residual', D] });
  const n = input({ name: FLUSH_TOKENS, dtype: 'int64', shape: [1] });
  const block = g.op('Slice', [residual, g.ints([0]), n, g.ints([2])]);
  const rest = g.op('Slice', [residual, n, g.ints([2 ** 62]), g.ints([2])]);
  // Placed: the residual keeps its rows (what moved out leaves zero rows at the end).
  const restOut = o.kind === 'place' ? g.op('Pad', [rest, input({ name: FLUSH_RESIDUAL_PADS, dtype: 'int64', shape: [8] })], { mode: 'constant' }) : rest;
  output(restOut, { name: FLUSH_RESIDUAL_OUT, dtype, shape: [1, H, 'rest', D] });

  // NaN/Inf among the flushed tokens: x - x is NaN exactly for them.
  const finite = g.op('Equal', [g.op('Sub', [block, block]), g.scalar(dtype, 0)]);
  const nonFinite = g.op('ReduceSum', [g.op('Where', [finite, g.scalar('float32', 0), g.scalar('float32', 1)])], { keepdims: 0 });
  output(nonFinite, { name: NON_FINITE, dtype: 'float32', shape: [] });

  if (o.mode === 'simulated') {
    if (o.kind === 'start') {
      output(codec.fakeQuantize(g, block, dtype), { name: flushHistoryOut(null), dtype, shape: [1, H, 'next_history', D] });
      return { graph: g, inputs, outputs };
    }
    const history = input({ name: flushHistoryIn(null), dtype, shape: [1, H, 'history', D] });
    const next = o.kind === 'requantize'
      ? codec.fakeQuantize(g, g.op('Concat', [history, block], { axis: 2 }), dtype)
      : g.op('Concat', [history, codec.fakeQuantize(g, block, dtype)], { axis: 2 });
    output(next, { name: flushHistoryOut(null), dtype, shape: [1, H, 'next_history', D] });
    return { graph: g, inputs, outputs };
  }

  const inFormat = codec.format('history');
  const outFormat = codec.format('next_history');
  const emitOutputs = (next: Value[]) =>
    outFormat.forEach((p, i) => output(next[i], { name: flushHistoryOut(p.part), dtype: p.dtype, shape: p.shape }));
  if (o.kind === 'start') {
    emitOutputs(codec.encode(g, block, dtype));
    return { graph: g, inputs, outputs };
  }
  const history = inFormat.map((p) => input({ name: flushHistoryIn(p.part), dtype: p.dtype, shape: p.shape }));
  let next: Value[];
  if (o.kind === 'place') {
    if (!rowPerToken(codec)) throw new Error(`cache codec ${codec.key}: placing blocks needs one history row per token`);
    // The history's rows from its tokens on are zero (reserved), so the block is added over them.
    const pads = input({ name: FLUSH_HISTORY_PADS, dtype: 'int64', shape: [8] });
    next = codec.encode(g, block, dtype).map((part, i) => placeRows(g, history[i], part, pads, inFormat[i].dtype === 'uint8'));
    emitOutputs(next);
    return { graph: g, inputs, outputs };
  }
  if (o.kind === 'requantize') {
    next = codec.encode(g, g.op('Concat', [codec.decode(g, history, dtype), block], { axis: 2 }), dtype);
  } else {
    const axis = codec.appendAxis;
    if (axis === null) throw new Error(`cache codec ${codec.key} cannot append blocks; it needs residualMode 'requantize'`);
    next = codec.encode(g, block, dtype).map((part, i) => {
      if (inFormat[i].dtype === 'uint8' && o.deviceSafe) {
        const wide = (v: Value) => g.op('Cast', [v], { to: 6 });
        return g.op('Cast', [g.op('Concat', [wide(history[i]), wide(part)], { axis })], { to: 2 });
      }
      return g.op('Concat', [history[i], part], { axis });
    });
  }
  emitOutputs(next);
  return { graph: g, inputs, outputs };
}
