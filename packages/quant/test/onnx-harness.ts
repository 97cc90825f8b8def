// Shared by the onnx-*.test.ts files: random KV-like inputs, and one-call graph builders that run the
// emitters in ONNX Runtime (CPU provider) and return plain typed arrays.

import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import * as ort from 'onnxruntime-node';
import type { QuantizerConfig } from '../src/config';
import { quantizerConfig } from '../src/config';
import { emitFakeQuantize, emitQuantizePack, emitUnpackDequantize, metaFromBoundary, quantizedFormat, type EmitOptions } from '../src/onnx/index';

export type Shape4 = [number, number, number, number];
export type InputKind = 'gaussian' | 'outliers' | 'constant-groups' | 'tiny-range' | 'grid';

/** Seeded PRNG (mulberry32) so a failure can be replayed from the printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomKv(shape: Shape4, kind: InputKind, seed: number): Float32Array {
  const r = rng(seed);
  const [B, H, S, D] = shape;
  const n = B * H * S * D;
  const x = new Float32Array(n);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  for (let i = 0; i < n; i++) x[i] = gauss();
  if (kind === 'outliers') {
    // A few channels 20-50x larger, as keys have.
    const channels = [0, Math.floor(D / 3), D - 1];
    for (let i = 0; i < n; i++) if (channels.includes(i % D)) x[i] *= 20 + 30 * r();
  } else if (kind === 'constant-groups') {
    // Runs of 16 equal values, and whole tokens equal: every layout sees some constant groups.
    for (let i = 0; i < n; i += 16) if (r() < 0.5) x.fill(x[i], i, Math.min(n, i + 16));
    for (let t = 0; t < B * H * S; t += 3) x.fill(0.25, t * D, t * D + D);
    for (let d = 0; d < D; d += 5) for (let t = 0; t < B * H * S; t++) x[t * D + d] = -1.5;
  } else if (kind === 'tiny-range') {
    for (let i = 0; i < n; i++) x[i] = 3 + x[i] * 1e-6;
  } else if (kind === 'grid') {
    // Values on a coarse grid: re-quantizing dequantized values produces exact .5 ties often.
    for (let i = 0; i < n; i++) x[i] = Math.round(x[i] * 8) / 8;
  }
  return x;
}

export interface RunOptions extends Partial<EmitOptions> {
  shape: Shape4;
}

const emitOptions = (o: RunOptions): EmitOptions => ({ headDim: o.shape[3], batch: o.shape[0], heads: o.shape[1], ...o });

/** fp32 or fp16 input tensor; fp16 from fp32 values already representable (the caller rounds). */
function inputTensor(x: Float32Array, o: RunOptions): ort.Tensor {
  if (o.computeDtype === 'float16') {
    return new ort.Tensor('float16', float16Bits(x), o.shape);
  }
  return new ort.Tensor('float32', x, o.shape);
}

export function float16Bits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i];
    const bits = u[0];
    const sign = (bits >>> 16) & 0x8000;
    const v = Math.abs(x[i]);
    if (v !== v) out[i] = 0x7e00;
    else if (v === Infinity) out[i] = sign | 0x7c00;
    else {
      // x is fp16-exact by contract: encode exactly.
      if (v < 2 ** -14) out[i] = sign | Math.round(v / 2 ** -24);
      else {
        const e = Math.floor(Math.log2(v));
        const ee = v >= 2 ** (e + 1) ? e + 1 : v < 2 ** e ? e - 1 : e;
        out[i] = sign | ((ee + 15) << 10) | Math.round((v / 2 ** ee - 1) * 1024);
      }
    }
  }
  return out;
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  return metaFromBoundary(bits, 'fp16');
}

export function config(c: Partial<QuantizerConfig>): QuantizerConfig {
  return quantizerConfig(c);
}

export interface GraphQuantized {
  codes: Uint8Array;
  scales: Float32Array;
  zeros: Float32Array;
  nonFinite?: number;
  codesDims: readonly number[];
}

const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, graphOptimizationLevel: 'all' };

export async function session(g: GraphBuilder): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model, sessionOptions);
}

/** Quantize+pack in ONNX Runtime; metadata returned as fp32 values. */
export async function runQuantizePack(x: Float32Array, cfg: QuantizerConfig, o: RunOptions): Promise<GraphQuantized> {
  const g = new GraphBuilder('qp');
  const dt = o.computeDtype === 'float16' ? 'float16' : 'float32';
  const xin = g.input('x', dt, ['B', 'H', 'S', o.shape[3]]);
  const q = emitQuantizePack(g, xin, cfg, { ...emitOptions(o), countNonFinite: true });
  const fmt = quantizedFormat(cfg, { batch: 'B', heads: 'H', seq: 'S', headDim: o.shape[3] });
  g.output(q.codes, 'codes', 'uint8', fmt.codes.shape.map((d, i) => (typeof d === 'number' ? d : `c${i}`)));
  g.output(q.scales, 'scales', fmt.scales.dtype, fmt.scales.shape.map((d, i) => (typeof d === 'number' ? d : `s${i}`)));
  g.output(q.zeros, 'zeros', fmt.zeros.dtype, fmt.zeros.shape.map((d, i) => (typeof d === 'number' ? d : `z${i}`)));
  g.output(q.nonFinite!, 'nonFinite', 'float32', []);
  const s = await session(g);
  const out = await s.run({ x: inputTensor(x, o) });
  await s.release();
  const meta = (t: ort.Tensor) => metaFromBoundary(t.data as Float32Array | Uint16Array, cfg.metaDtype);
  return {
    codes: out.codes.data as Uint8Array,
    codesDims: out.codes.dims,
    scales: meta(out.scales),
    zeros: meta(out.zeros),
    nonFinite: (out.nonFinite.data as Float32Array)[0],
  };
}

/** Unpack+dequantize in ONNX Runtime from TS-produced (or graph-produced) boundary tensors. */
export async function runUnpackDequantize(
  codes: Uint8Array,
  scales: Float32Array | Uint16Array,
  zeros: Float32Array | Uint16Array,
  cfg: QuantizerConfig,
  o: RunOptions,
): Promise<Float32Array> {
  const [B, H, S, D] = o.shape;
  const fmt = quantizedFormat(cfg, { batch: B, heads: H, seq: S, headDim: D });
  const g = new GraphBuilder('ud');
  const sym = (shape: (number | string)[], p: string) => shape.map((d, i) => (i === fmt.appendAxis ? `${p}${i}` : d));
  const c = g.input('codes', 'uint8', fmt.appendAxis === null ? fmt.codes.shape : sym(fmt.codes.shape, 'c'));
  const sc = g.input('scales', fmt.scales.dtype, fmt.appendAxis === null ? fmt.scales.shape : sym(fmt.scales.shape, 's'));
  const ze = g.input('zeros', fmt.zeros.dtype, fmt.appendAxis === null ? fmt.zeros.shape : sym(fmt.zeros.shape, 'z'));
  const y = emitUnpackDequantize(g, { codes: c, scales: sc, zeros: ze }, cfg, emitOptions(o));
  const dt = o.computeDtype === 'float16' ? 'float16' : 'float32';
  g.output(y, 'y', dt, [B, H, 'S', D]);
  const s = await session(g);
  const metaTensor = (v: Float32Array | Uint16Array, shape: number[]) =>
    v instanceof Uint16Array ? new ort.Tensor('float16', v, shape) : new ort.Tensor('float32', v, shape);
  const out = await s.run({
    codes: new ort.Tensor('uint8', codes, fmt.codes.shape as number[]),
    scales: metaTensor(scales, fmt.scales.shape as number[]),
    zeros: metaTensor(zeros, fmt.zeros.shape as number[]),
  });
  await s.release();
  return dt === 'float16' ? float16ToFloat32(out.y.data as Uint16Array) : (out.y.data as Float32Array);
}

export async function runFakeQuantize(x: Float32Array, cfg: QuantizerConfig, o: RunOptions): Promise<Float32Array> {
  const g = new GraphBuilder('fq');
  const dt = o.computeDtype === 'float16' ? 'float16' : 'float32';
  const xin = g.input('x', dt, ['B', 'H', 'S', o.shape[3]]);
  g.output(emitFakeQuantize(g, xin, cfg, emitOptions(o)), 'y', dt, ['B', 'H', 'S', o.shape[3]]);
  const s = await session(g);
  const out = await s.run({ x: inputTensor(x, o) });
  await s.release();
  return dt === 'float16' ? float16ToFloat32(out.y.data as Uint16Array) : (out.y.data as Float32Array);
}
