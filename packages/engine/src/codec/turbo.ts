// TurboQuant as a cache codec (quantizers.md §8): per head vector, mse = rotation + Lloyd-Max codebook
// with the norm ν stored; prod = (b-1)-bit mse + a 1-bit QJL sketch of the residual with its norm γ.
// Centroid indices and QJL signs are packed densely (runs of 8 codes -> b bytes, as packing.ts) along
// each vector; norms are stored as float16, as the byte counts of §10.3 assume.
import type { Dim, GraphBuilder, Value } from '@kvbench/onnx';
import {
  emitPackRunsScaled,
  emitUnpackRunsScaled,
  emitQjlDecode,
  emitQjlEncode,
  emitTurboMseDecode,
  emitTurboMseEncode,
  quantizeHeadVectors,
  TurboQuantMse,
  TurboQuantProd,
  turboVectorCost,
  type TurboMethod,
} from '@kvbench/quant';
import { CachePolicyError } from '../cache-policy-error';
import type { GraphDtype } from '../graph/precision';
import { FLOAT, FLOAT16, fromFloat32, toFloat32, UINT8, type CodecPart, type CodedBlock, type TensorCodec } from './tensor-codec';

export interface TurboCodecSpec {
  method: TurboMethod;
  bits: number;
  seed: number;
}

export class TurboCodec implements TensorCodec {
  readonly key: string;
  readonly quantum = 1;
  readonly appendAxis = 2;
  readonly bytesPerToken: number;
  private readonly mse: TurboQuantMse | null;
  private readonly prod: TurboQuantProd | null;
  /** Index bits and rotated length of the mse stage (0 when prod runs at 1 bit: plain QJL). */
  private readonly indexBits: number;
  private readonly rotatedDim: number;

  constructor(
    readonly spec: TurboCodecSpec,
    private readonly kvHeads: number,
    private readonly headDim: number,
    field: string,
  ) {
    const { method, bits, seed } = spec;
    if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new CachePolicyError(`${field}.bits`, `got ${bits}, TurboQuant takes integers 1..8`);
    if (headDim % 8 !== 0) throw new CachePolicyError(`${field}`, `TurboQuant in a graph needs headDim % 8 == 0 (whole bytes of signs), got ${headDim}`);
    const rotation = { kind: 'hadamard' as const, seed };
    // The QJL projection gets its own seed, distinct from the rotation's.
    this.prod = method === 'prod' ? new TurboQuantProd(headDim, { bits, rotation, qjlSeed: seed + 1, normDtype: 'float16' }) : null;
    this.mse = method === 'mse' ? new TurboQuantMse(headDim, { bits, rotation, normDtype: 'float16' }) : (this.prod?.mse ?? null);
    this.indexBits = this.mse ? this.mse.bits : 0;
    this.rotatedDim = this.mse ? this.mse.rotation.outputDim : headDim;
    this.key = JSON.stringify({ turbo: spec });
    const cost = turboVectorCost({ method, bits, dim: headDim, rotatedDim: this.rotatedDim, normBits: 16 });
    this.bytesPerToken = cost.bytes * kvHeads;
  }

  checkGraph(): void {}

  format(seq: Dim): CodecPart[] {
    const H = this.kvHeads;
    const parts: CodecPart[] = [];
    if (this.mse) {
      parts.push({ part: 'codes', dtype: 'uint8', shape: [1, H, seq, (this.rotatedDim * this.indexBits) / 8] });
      parts.push({ part: 'norm', dtype: 'float16', shape: [1, H, seq, 1] });
    }
    if (this.prod) {
      parts.push({ part: 'signs', dtype: 'uint8', shape: [1, H, seq, this.headDim / 8] });
      parts.push({ part: 'gamma', dtype: 'float16', shape: [1, H, seq, 1] });
    }
    return parts;
  }

  /** uint8-valued float codes [1, H, T, n] -> packed uint8 [1, H, T, n*b/8]. */
  private pack(g: GraphBuilder, codes: Value, n: number, bits: number): Value {
    const runs = g.op('Reshape', [codes, g.ints([1, this.kvHeads, -1, n / 8, 8])]);
    const bytes = emitPackRunsScaled(g, runs, bits, 'last');
    return g.op('Cast', [g.op('Reshape', [bytes, g.ints([1, this.kvHeads, -1, (n * bits) / 8])])], { to: UINT8 });
  }

  /** Inverse of pack: float codes [1, H, S, n]. */
  private unpack(g: GraphBuilder, packed: Value, n: number, bits: number): Value {
    const bytes = g.op('Reshape', [g.op('Cast', [packed], { to: FLOAT }), g.ints([1, this.kvHeads, -1, n / 8, bits])]);
    return g.op('Reshape', [emitUnpackRunsScaled(g, bytes, bits, 'last'), g.ints([1, this.kvHeads, -1, n])]);
  }

  /** Norms are stored as float16; the decoders read them back as float32. */
  private half(g: GraphBuilder, x: Value): Value {
    return g.op('Cast', [x], { to: FLOAT16 });
  }

  private full(g: GraphBuilder, x: Value): Value {
    return g.op('Cast', [x], { to: FLOAT });
  }

  encode(g: GraphBuilder, block: Value, dtype: GraphDtype): Value[] {
    const x = toFloat32(g, block, dtype);
    const out: Value[] = [];
    let residual = x;
    if (this.mse) {
      const { norm, codes } = emitTurboMseEncode(g, x, this.mse);
      const stored = this.half(g, norm);
      out.push(this.pack(g, this.full(g, codes), this.rotatedDim, this.indexBits), stored);
      // The QJL stage sketches what the stored (fp16-norm) mse code misses, as the TS path does.
      if (this.prod) residual = g.op('Sub', [x, emitTurboMseDecode(g, codes, this.full(g, stored), this.mse)]);
    }
    if (this.prod) {
      const { gamma, signs } = emitQjlEncode(g, residual, this.prod.qjl);
      out.push(this.pack(g, this.full(g, signs), this.headDim, 1), this.half(g, gamma));
    }
    return out;
  }

  decode(g: GraphBuilder, parts: Value[], dtype: GraphDtype): Value {
    let i = 0;
    let y: Value | null = null;
    if (this.mse) {
      const codes = this.unpack(g, parts[i++], this.rotatedDim, this.indexBits);
      y = emitTurboMseDecode(g, codes, this.full(g, parts[i++]), this.mse);
    }
    if (this.prod) {
      const signs = this.unpack(g, parts[i++], this.headDim, 1);
      const correction = emitQjlDecode(g, signs, this.full(g, parts[i++]), this.prod.qjl);
      y = y ? g.op('Add', [y, correction]) : correction;
    }
    return fromFloat32(g, y!, dtype);
  }

  fakeQuantize(g: GraphBuilder, x: Value, dtype: GraphDtype): Value {
    return this.decode(g, this.encode(g, x, dtype), dtype);
  }

  codeBlock(x: Float32Array, tokens: number): CodedBlock {
    const q = this.prod ?? this.mse!;
    let nonFinite = 0;
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) nonFinite++;
    return { dequantized: Float32Array.from(quantizeHeadVectors(q, x)), bytes: this.bytesPerToken * tokens, nonFinite };
  }
}
