// The boundary formats (formats.ts) in use: blocks appended with Concat equal the TypeScript bytes of
// the whole tensor, the declared shapes are the real ones, fp16 compute, non-finite inputs, and the op
// set (WebGPU-runnable ops only, no uint8 tensor through Concat/Transpose/Slice).

import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { GroupAxis, QuantBackend } from '../src/config';
import { dequantize, fakeQuantize, quantize, roundFp16, unpack } from '../src/index';
import { emitAppendQuantized, emitQuantizePack, emitUnpackDequantize, metaForBoundary, metaFromBoundary, quantizedFormat, WEBGPU_OPS } from '../src/onnx/index';
import { config, randomKv, runFakeQuantize, runQuantizePack, runUnpackDequantize, session, type Shape4 } from './onnx-harness';

describe('append-friendly formats', () => {
  it.each([
    { axis: 'per-token' as GroupAxis, groupSize: 32, bits: 3 },
    { axis: 'per-token' as GroupAxis, groupSize: 128, bits: 2 },
    { axis: 'per-channel' as GroupAxis, groupSize: 16, bits: 5 },
    { axis: 'per-channel' as GroupAxis, groupSize: 32, bits: 4 },
  ])('$axis G=$groupSize b=$bits: prefill + blocks concatenated = TS bytes of the whole', async ({ axis, groupSize, bits }) => {
    const cfg = config({ backend: 'quanto', bits, axis, groupSize, metaDtype: 'fp16' });
    const D = 64;
    const blocks = [64, 32, 32]; // prefill of 64 tokens, then two blocks of 32 (dynamic seq, one graph)
    const S = blocks.reduce((a, b) => a + b, 0);
    const shape: Shape4 = [2, 2, S, D];
    const x = randomKv(shape, 'outliers', 5);
    const fmt = quantizedFormat(cfg, { batch: 2, heads: 2, seq: 'seq', headDim: D });
    expect(fmt.appendAxis).toBe(2);

    // One graph with a symbolic sequence length: quantize each block, Concat (on uint8? no: on the host here).
    const g = new GraphBuilder('blocks');
    const xin = g.input('x', 'float32', [2, 2, 'seq', D]);
    const q = emitQuantizePack(g, xin, cfg, { headDim: D });
    g.output(q.codes, 'codes', 'uint8', fmt.codes.shape);
    g.output(q.scales, 'scales', 'float16', fmt.scales.shape);
    g.output(q.zeros, 'zeros', 'float16', fmt.zeros.shape);
    const s = await session(g);
    const parts: { codes: ort.Tensor; scales: ort.Tensor; zeros: ort.Tensor }[] = [];
    let start = 0;
    for (const len of blocks) {
      const block = new Float32Array(2 * 2 * len * D);
      for (let bh = 0; bh < 4; bh++) block.set(x.subarray((bh * S + start) * D, (bh * S + start + len) * D), bh * len * D);
      const out = await s.run({ x: new ort.Tensor('float32', block, [2, 2, len, D]) });
      const expected = quantizedFormat(cfg, { batch: 2, heads: 2, seq: len, headDim: D });
      expect(out.codes.dims).toEqual(expected.codes.shape);
      expect(out.scales.dims).toEqual(expected.scales.shape);
      parts.push({ codes: out.codes, scales: out.scales, zeros: out.zeros });
      start += len;
    }
    // Concatenate along appendAxis (2): for each (b, h), the blocks' rows in order.
    const concat = <T extends Uint8Array | Uint16Array>(ts: ort.Tensor[], make: (n: number) => T): T => {
      const rowsOf = (t: ort.Tensor) => t.dims.slice(2).reduce((a, b) => a * b, 1);
      const total = ts.reduce((a, t) => a + t.data.length, 0);
      const out = make(total);
      let o = 0;
      for (let bh = 0; bh < 4; bh++) {
        for (const t of ts) {
          const r = rowsOf(t);
          out.set((t.data as T).subarray(bh * r, bh * r + r), o);
          o += r;
        }
      }
      return out;
    };
    const codes = concat(parts.map((p) => p.codes), (n) => new Uint8Array(n));
    const scales = metaFromBoundary(concat(parts.map((p) => p.scales), (n) => new Uint16Array(n)), 'fp16');
    const ts = quantize(x, shape, cfg);
    expect(Buffer.from(codes).equals(Buffer.from(ts.codes))).toBe(true);
    expect(Array.from(scales)).toEqual(Array.from(ts.scales));
    // And the whole concatenated state dequantizes in one graph run to TS's values.
    const y = await runUnpackDequantize(codes, metaForBoundary(ts.scales, 'fp16'), metaForBoundary(ts.zeros, 'fp16'), cfg, { shape });
    expect(Array.from(y)).toEqual(Array.from(dequantize(ts)));
  });

  it('emitAppendQuantized: history + a new block quantized in the graph = TS bytes of the whole (per-channel)', async () => {
    const cfg = config({ backend: 'quanto', bits: 3, axis: 'per-channel', groupSize: 16, metaDtype: 'fp32' });
    const D = 16;
    const shape: Shape4 = [1, 2, 48, D];
    const x = randomKv(shape, 'gaussian', 8);
    const hist = new Float32Array(2 * 32 * D);
    const block = new Float32Array(2 * 16 * D);
    for (let h = 0; h < 2; h++) {
      hist.set(x.subarray(h * 48 * D, h * 48 * D + 32 * D), h * 32 * D);
      block.set(x.subarray(h * 48 * D + 32 * D, (h + 1) * 48 * D), h * 16 * D);
    }
    const past = quantize(hist, [1, 2, 32, D], cfg);
    const fmt = quantizedFormat(cfg, { batch: 1, heads: 2, seq: 'past', headDim: D });
    const g = new GraphBuilder('append');
    const pastIn = {
      codes: g.input('codes', 'uint8', fmt.codes.shape),
      scales: g.input('scales', 'float32', fmt.scales.shape),
      zeros: g.input('zeros', 'float32', fmt.zeros.shape),
    };
    const q = emitQuantizePack(g, g.input('x', 'float32', [1, 2, 16, D]), cfg, { headDim: D });
    const all = emitAppendQuantized(g, pastIn, q, cfg, { codes: 'all_codes', scales: 'all_scales', zeros: 'all_zeros' });
    g.output(all.codes, 'all_codes', 'uint8', [1, 2, 'blocks', D, 6]);
    g.output(all.scales, 'all_scales', 'float32', [1, 2, 'blocks', D]);
    g.output(all.zeros, 'all_zeros', 'float32', [1, 2, 'blocks', D]);
    const s = await session(g);
    const out = await s.run({
      codes: new ort.Tensor('uint8', past.codes, [1, 2, 2, D, 6]),
      scales: new ort.Tensor('float32', past.scales, [1, 2, 2, D]),
      zeros: new ort.Tensor('float32', past.zeros, [1, 2, 2, D]),
      x: new ort.Tensor('float32', block, [1, 2, 16, D]),
    });
    const whole = quantize(x, shape, cfg);
    expect(Buffer.from(out.all_codes.data as Uint8Array).equals(Buffer.from(whole.codes))).toBe(true);
    expect(Array.from(out.all_scales.data as Float32Array)).toEqual(Array.from(whole.scales));
    expect(Array.from(out.all_zeros.data as Float32Array)).toEqual(Array.from(whole.zeros));
  });

  it('declares the table of formats.ts', () => {
    const dims = { batch: 1, heads: 8, seq: 256, headDim: 128 };
    const f = (axis: GroupAxis, groupSize: number, bits: number) => quantizedFormat(config({ axis, groupSize, bits, metaDtype: 'bf16' }), dims);
    expect(f('per-token', 64, 4).codes.shape).toEqual([1, 8, 256, 64]);
    expect(f('per-token', 64, 4).scales).toEqual({ dtype: 'float32', shape: [1, 8, 256, 2] });
    expect(f('per-token', 256, 3).scales.shape).toEqual([1, 8, 128, 1]);
    expect(f('per-channel', 32, 2).codes.shape).toEqual([1, 8, 8, 128, 8]);
    expect(f('quanto-per-channel', 64, 5).codes.shape).toEqual([128, 32, 40]);
    expect(f('hqq-per-channel', 64, 1).scales.shape).toEqual([4096]);
    expect(() => f('per-channel', 12, 4)).toThrow(/groupSize/);
    expect(quantizedFormat(config({ axis: 'per-channel', groupSize: 32, bits: 4 }), { ...dims, seq: 'S' }).codes.shape).toEqual([1, 8, 'S/32', 128, 16]);
  });
});

describe('head chunks (CPU option)', () => {
  it.each(['per-token', 'per-channel'] as GroupAxis[])('%s with headChunks 2 gives the same bytes and values', async (axis) => {
    const shape: Shape4 = [1, 4, 32, 32];
    const cfg = config({ backend: 'quanto', axis, bits: 5, groupSize: 16, metaDtype: 'fp16' });
    const x = randomKv(shape, 'outliers', 21);
    x[100] = NaN;
    const ts = quantize(x, shape, cfg);
    const graph = await runQuantizePack(x, cfg, { shape, headChunks: 2 });
    expect(Buffer.from(graph.codes).equals(Buffer.from(ts.codes))).toBe(true);
    expect(Array.from(graph.scales)).toEqual(Array.from(ts.scales));
    expect(graph.nonFinite).toBe(1);
    const y = await runUnpackDequantize(ts.codes, metaForBoundary(ts.scales, 'fp16'), metaForBoundary(ts.zeros, 'fp16'), cfg, { shape, headChunks: 2 });
    const expected = dequantize(ts);
    for (let i = 0; i < x.length; i++) if (i !== 100) expect(y[i]).toBe(expected[i]);
    await expect(runQuantizePack(x, config({ axis: 'hqq-per-channel', groupSize: 16 }), { shape, headChunks: 2 })).rejects.toThrow(/headChunks/);
  });
});

describe('fp16 compute path', () => {
  it.each([
    { backend: 'quanto' as QuantBackend, axis: 'per-token' as GroupAxis, bits: 4, groupSize: 64 },
    { backend: 'quanto' as QuantBackend, axis: 'per-channel' as GroupAxis, bits: 2, groupSize: 32 },
    { backend: 'hqq' as QuantBackend, axis: 'per-token' as GroupAxis, bits: 3, groupSize: 32 },
  ])('$backend $axis b=$bits: fp16 in/out equals TS on the fp16 input, rounded to fp16', async ({ backend, axis, bits, groupSize }) => {
    const shape: Shape4 = [1, 2, 64, 64];
    const cfg = config({ backend, axis, bits, groupSize, metaDtype: 'fp16', hqqMode: 'clean' });
    const x = randomKv(shape, 'gaussian', 11).map(roundFp16);
    const ts = quantize(x, shape, cfg);
    const graph = await runQuantizePack(x, cfg, { shape, computeDtype: 'float16' });
    expect(Buffer.from(graph.codes).equals(Buffer.from(ts.codes))).toBe(true);
    expect(Array.from(graph.scales)).toEqual(Array.from(ts.scales));
    const y = await runUnpackDequantize(graph.codes, metaForBoundary(graph.scales, 'fp16'), metaForBoundary(graph.zeros, 'fp16'), cfg, { shape, computeDtype: 'float16' });
    expect(Array.from(y)).toEqual(Array.from(dequantize(ts)).map(roundFp16));
    const fake = await runFakeQuantize(x, cfg, { shape, computeDtype: 'float16' });
    expect(Array.from(fake)).toEqual(Array.from(fakeQuantize(x, shape, cfg)).map(roundFp16));
  });

  it.each([
    { backend: 'quanto' as QuantBackend, bits: 4, groupSize: 64 },
    { backend: 'quanto' as QuantBackend, bits: 2, groupSize: 32 },
    { backend: 'hqq' as QuantBackend, bits: 1, groupSize: 64 },
    { backend: 'hqq' as QuantBackend, bits: 4, groupSize: 128 },
  ])("$backend per-token b=$bits: arithmetic 'compute' dequantizes in float16 within two roundings of float64", async ({ backend, bits, groupSize }) => {
    const shape: Shape4 = [1, 2, 48, 128];
    const cfg = config({ backend, axis: 'per-token', bits, groupSize, metaDtype: 'fp16', hqqMode: 'clean' });
    const x = randomKv(shape, 'outliers', 100 + bits).map(roundFp16);
    const ts = quantize(x, shape, cfg);
    const scales = metaForBoundary(ts.scales, 'fp16');
    const zeros = metaForBoundary(ts.zeros, 'fp16');
    const opts = { shape, computeDtype: 'float16' as const, unpack: 'table' as const };
    const half = await runUnpackDequantize(ts.codes, scales, zeros, cfg, { ...opts, arithmetic: 'compute' });
    const single = await runUnpackDequantize(ts.codes, scales, zeros, cfg, opts);
    // float64 from the codes and the (fp16-exact) metadata, as dequantize() computes it.
    const exact = dequantize(ts);
    let worst = 0;
    let worstSingle = 0;
    for (let i = 0; i < exact.length; i++) {
      expect(Number.isFinite(half[i])).toBe(true);
      // Two float16 roundings (product, then sum) of values no larger than the group's range.
      const g = Math.floor(i / groupSize);
      const bound = 2 ** -10 * (Math.abs(exact[i]) + Math.abs(ts.scales[g]) * (2 ** bits - 1)) + 2 ** -24;
      worst = Math.max(worst, Math.abs(half[i] - exact[i]) / bound);
      worstSingle = Math.max(worstSingle, Math.abs(single[i] - exact[i]) / bound);
    }
    // (The CPU provider runs float16 Mul/Sub through float32, ONNX Runtime inserting the casts, so here both
    // forms round once; GPU providers round in float16: bench/gpu consistency measures that.)
    expect(worst).toBeLessThanOrEqual(1);
    expect(worstSingle).toBeLessThanOrEqual(1);
  });

  it("arithmetic 'compute' writes no float32 pass: the table is float16 and nothing is cast but the codes", () => {
    const cfg = config({ backend: 'quanto', axis: 'per-token', bits: 4, groupSize: 64, metaDtype: 'fp16' });
    const ops = (arithmetic: 'float32' | 'compute') => {
      const g = new GraphBuilder('ops');
      const fmt = quantizedFormat(cfg, { batch: 1, heads: 2, seq: 'S', headDim: 64 });
      const parts = (['codes', 'scales', 'zeros'] as const).map((p) => g.input(p, fmt[p].dtype, fmt[p].shape));
      emitUnpackDequantize(g, { codes: parts[0], scales: parts[1], zeros: parts[2] }, cfg, { headDim: 64, batch: 1, heads: 2, computeDtype: 'float16', unpack: 'table', arithmetic });
      return g.nodes.filter((n) => n.opType === 'Cast').length;
    };
    expect(ops('compute')).toBe(1);
    expect(ops('float32')).toBe(4);
  });
});

describe('non-finite inputs', () => {
  it.each(['per-token', 'per-channel', 'hqq-per-channel'] as GroupAxis[])('%s: counted, coded 0, the rest of the group quantized as TS does', async (axis) => {
    const shape: Shape4 = [1, 2, 32, 32];
    const cfg = config({ backend: 'quanto', axis, bits: 4, groupSize: 16, metaDtype: 'fp32' });
    const x = randomKv(shape, 'gaussian', 3);
    x[0] = NaN;
    x[40] = Infinity;
    x[41] = -Infinity;
    x.fill(NaN, 512, 528); // a whole per-token group
    const ts = quantize(x, shape, cfg);
    const graph = await runQuantizePack(x, cfg, { shape });
    expect(graph.nonFinite).toBe(ts.nonFinite);
    expect(graph.nonFinite).toBe(19);
    expect(Buffer.from(graph.codes).equals(Buffer.from(ts.codes))).toBe(true);
    expect(Array.from(graph.scales)).toEqual(Array.from(ts.scales));
    // The graph has no side list: non-finite entries decode to their group's code-0 value (finite).
    const y = await runUnpackDequantize(graph.codes, graph.scales, graph.zeros, cfg, { shape });
    const expected = dequantize(ts);
    for (let i = 0; i < x.length; i++) {
      if (Number.isFinite(x[i])) expect(y[i]).toBe(expected[i]);
      else expect(Number.isFinite(y[i])).toBe(true);
    }
  });

  it('assumeFinite skips the guards: a NaN spoils only its own group, no crash', async () => {
    const shape: Shape4 = [1, 1, 8, 64];
    const cfg = config({ backend: 'quanto', axis: 'per-token', bits: 4, groupSize: 64 });
    const x = randomKv(shape, 'gaussian', 4);
    x[3] = NaN;
    const graph = await runQuantizePack(x, cfg, { shape, assumeFinite: true });
    const ts = quantize(x, shape, cfg);
    const n = x.length;
    const a = unpack(graph.codes, 4, n);
    const b = unpack(ts.codes, 4, n);
    for (let i = 64; i < n; i++) expect(a[i]).toBe(b[i]);
  });
});

describe('op set', () => {
  const uint8Consumers = new Set(['Cast', 'Reshape', 'Gather', 'Identity', 'Expand']);
  it.each([
    { backend: 'quanto' as QuantBackend, axis: 'per-token' as GroupAxis, bits: 3 },
    { backend: 'quanto' as QuantBackend, axis: 'per-channel' as GroupAxis, bits: 4 },
    { backend: 'hqq' as QuantBackend, axis: 'quanto-per-channel' as GroupAxis, bits: 5 },
    { backend: 'hqq' as QuantBackend, axis: 'hqq-per-channel' as GroupAxis, bits: 2 },
  ])('$backend $axis b=$bits uses WebGPU ops only, and uint8 only through Cast/Reshape/Gather', ({ backend, axis, bits }) => {
    for (const hqqMode of ['faithful', 'clean'] as const) {
      const cfg = config({ backend, axis, bits, groupSize: 16, metaDtype: 'bf16', hqqMode });
      const g = new GraphBuilder('ops');
      const x = g.input('x', 'float16', [1, 2, 'seq', 16]);
      const opts = { headDim: 16, batch: 1, heads: 2, computeDtype: 'float16' as const, countNonFinite: true };
      const q = emitQuantizePack(g, x, cfg, opts);
      const y = emitUnpackDequantize(g, q, cfg, opts);
      g.output(y, 'y', 'float16', [1, 2, 'seq', 16]);
      const uint8 = new Set<string>();
      for (const n of g.nodes) {
        expect(WEBGPU_OPS.has(n.opType), n.opType).toBe(true);
        expect(n.opType).not.toBe('Round');
        if (n.inputs.some((i) => uint8.has(i))) expect(uint8Consumers.has(n.opType), `${n.opType} on uint8`).toBe(true);
        if ((n.opType === 'Cast' && n.attributes.to === 2) || (n.opType === 'Reshape' && uint8.has(n.inputs[0]))) n.outputs.forEach((o) => uint8.add(o));
      }
      expect(encodeModel(g, { opset: 21 }).model.length).toBeGreaterThan(0);
    }
  });
});
