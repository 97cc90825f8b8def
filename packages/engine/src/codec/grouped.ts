// The grouped quantizers (Quanto, HQQ) as a cache codec, optionally behind a randomized Walsh-Hadamard
// rotation of each head vector: the block is rotated by Π, quantized in the rotated basis (an outlier
// channel is spread over every coordinate), and Πᵀ is applied after dequantization, so attention reads
// keys and values in their own basis and q·k is kept up to quantization error.
import type { Dim, GraphBuilder, Value } from '@kvbench/onnx';
import {
  checkGraphLayout,
  createRotation,
  dequantize,
  emitFakeQuantize,
  emitQuantizePack,
  emitRotation,
  emitUnpackDequantize,
  heldBytes,
  quantize,
  quantizedFormat,
  rotateRows,
  unrotateRows,
  type QuantizerConfig,
  type Rotation,
} from '@kvbench/quant';
import { CachePolicyError } from '../cache-policy-error';
import type { RotationOption } from '../evaluation';
import type { GraphDtype } from '../graph/precision';
import { tokenQuantum } from './quantum';
import type { CodecPart, CodedBlock, DecodeOptions, TensorCodec } from './tensor-codec';

export const GROUPED_PARTS = ['codes', 'scales', 'zeros'] as const;

export class GroupedCodec implements TensorCodec {
  readonly key: string;
  readonly quantum: number;
  readonly appendAxis: number | null;
  private readonly rotation: Rotation | null;
  /** Head size the quantizer sees: the rotated (power-of-two padded) size under a rotation. */
  private readonly codedDim: number;

  constructor(
    readonly quantizer: QuantizerConfig,
    rotation: RotationOption | null,
    private readonly kvHeads: number,
    headDim: number,
    /** Names the config in errors ("cache.quant.key", "cache.layers[2].value"). */
    private readonly field: string,
  ) {
    this.rotation = rotation ? createRotation(headDim, { kind: rotation.kind, seed: rotation.seed }) : null;
    this.codedDim = this.rotation ? this.rotation.outputDim : headDim;
    this.key = JSON.stringify({ grouped: quantizer, rotation });
    this.quantum = tokenQuantum(quantizer, kvHeads, this.codedDim);
    this.appendAxis = quantizer.axis === 'per-token' || quantizer.axis === 'per-channel' ? 2 : null;
  }

  get rotated(): boolean {
    return this.rotation !== null;
  }

  /** Graph formats need whole bytes per token or group (formats.ts); the TS path does not. */
  checkGraph(): void {
    try {
      checkGraphLayout(this.quantizer, this.codedDim, this.field);
    } catch (error) {
      const f = (error as { field?: string }).field ?? this.field;
      throw new CachePolicyError(f, (error as Error).message.replace(`${f}: `, ''));
    }
  }

  get bytesPerToken(): number {
    return this.format(this.quantum).reduce((n, p) => n + partBytes(p), 0) / this.quantum;
  }

  private dims(seq: Dim) {
    return { batch: 1, heads: this.kvHeads, seq, headDim: this.codedDim };
  }

  private emit(dtype: GraphDtype) {
    return { headDim: this.codedDim, batch: 1, heads: this.kvHeads, computeDtype: dtype };
  }

  format(seq: Dim): CodecPart[] {
    const f = quantizedFormat(this.quantizer, this.dims(seq));
    return GROUPED_PARTS.map((part) => ({ part, dtype: f[part].dtype, shape: f[part].shape }));
  }

  private rotate(g: GraphBuilder, x: Value, dtype: GraphDtype, inverse: boolean): Value {
    return this.rotation ? emitRotation(g, x, this.rotation, { inverse, dtype }) : x;
  }

  encode(g: GraphBuilder, block: Value, dtype: GraphDtype): Value[] {
    const q = emitQuantizePack(g, this.rotate(g, block, dtype, false), this.quantizer, this.emit(dtype));
    return [q.codes, q.scales, q.zeros];
  }

  decode(g: GraphBuilder, parts: Value[], dtype: GraphDtype, options: DecodeOptions = {}): Value {
    const [codes, scales, zeros] = parts;
    const unpack = options.lookupTables ? 'table' : 'arithmetic';
    return this.rotate(g, emitUnpackDequantize(g, { codes, scales, zeros }, this.quantizer, { ...this.emit(dtype), unpack, arithmetic: options.arithmetic }), dtype, true);
  }

  fakeQuantize(g: GraphBuilder, x: Value, dtype: GraphDtype): Value {
    return this.rotate(g, emitFakeQuantize(g, this.rotate(g, x, dtype, false), this.quantizer, this.emit(dtype)), dtype, true);
  }

  codeBlock(x: Float32Array, tokens: number): CodedBlock {
    const rows = this.kvHeads * tokens;
    const input = this.rotation ? Float32Array.from(rotateRows(this.rotation, x, rows)) : x;
    const qt = quantize(input, [1, this.kvHeads, tokens, this.codedDim], this.quantizer, this.field);
    let y = dequantize(qt);
    if (this.rotation) y = Float32Array.from(unrotateRows(this.rotation, y, rows));
    return { dequantized: y, bytes: heldBytes(qt).total, nonFinite: qt.nonFinite };
  }
}

/** Bytes of one boundary part with numeric dims. */
export function partBytes(p: CodecPart): number {
  const n = p.shape.reduce<number>((a, d) => a * (d as number), 1);
  return n * (p.dtype === 'uint8' ? 1 : p.dtype === 'float16' ? 2 : 4);
}
