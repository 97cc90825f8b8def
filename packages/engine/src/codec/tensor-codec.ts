// How one layer's keys (or values) are stored in the cache, in both worlds: inside the ONNX graphs
// (the boundary parts of a history, encode a block into them, decode them for attention, fake-quantize
// for simulated mode) and in TypeScript (the reference session and the per-layer statistics).
import type { Dim, DType, GraphBuilder, Value } from '@kvbench/onnx';
import type { GraphDtype } from '../graph/precision';

export interface DecodeOptions {
  /**
   * Unpack codes through lookup tables (a Gather) rather than arithmetic (MatMul, Floor, MatMul): fewer
   * and smaller intermediate tensors, which GPU providers allocate per run; ORT's CPU Gather is slow.
   */
  lookupTables?: boolean;
  /** Dequantize in the graph's dtype where that is exact up to one more rounding (EmitOptions.arithmetic); default float32. */
  arithmetic?: 'float32' | 'compute';
}

/** One tensor of a packed history at the graph boundary. */
export interface CodecPart {
  part: string;
  dtype: DType;
  shape: Dim[];
}

/** A [1, kvHeads, T, headDim] block coded and decoded in TypeScript. */
export interface CodedBlock {
  dequantized: Float32Array;
  /** Bytes the block occupies once packed (= what the graph's history grows by). */
  bytes: number;
  /** Non-finite inputs met. */
  nonFinite: number;
}

export interface TensorCodec {
  /** Identifies the codec in graph cache keys. */
  readonly key: string;
  /** History grows in multiples of this many tokens. */
  readonly quantum: number;
  /** Axis along which blocks append (Concat); null: groups span the whole history (requantize only). */
  readonly appendAxis: number | null;
  /** Throws a CachePolicyError naming the field when the codec has no graph format for this model. */
  checkGraph(): void;
  /** The history's parts for `seq` tokens (symbolic or fixed). */
  format(seq: Dim): CodecPart[];
  /** block [1, kvHeads, T, headDim] (graph dtype) -> the parts, in format() order. */
  encode(g: GraphBuilder, block: Value, dtype: GraphDtype): Value[];
  /** The parts -> [1, kvHeads, S, headDim] in the graph dtype. */
  decode(g: GraphBuilder, parts: Value[], dtype: GraphDtype, options?: DecodeOptions): Value;
  /** decode(encode(x)) without packing (simulated mode). */
  fakeQuantize(g: GraphBuilder, x: Value, dtype: GraphDtype): Value;
  /** x = [1, kvHeads, tokens, headDim] float32, tokens a multiple of quantum. */
  codeBlock(x: Float32Array, tokens: number): CodedBlock;
  /** Packed bytes per token of this layer and kind (all KV heads), from the format. */
  readonly bytesPerToken: number;
}

export const UINT8 = 2;
export const FLOAT = 1;
export const FLOAT16 = 10;

/** Casts between the graph dtype and the float32 the coders compute in. */
export function toFloat32(g: GraphBuilder, x: Value, dtype: GraphDtype): Value {
  return dtype === 'float16' ? g.op('Cast', [x], { to: FLOAT }) : x;
}

export function fromFloat32(g: GraphBuilder, x: Value, dtype: GraphDtype): Value {
  return dtype === 'float16' ? g.op('Cast', [x], { to: FLOAT16 }) : x;
}
