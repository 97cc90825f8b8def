import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel, float, float16Bytes, tensor, toFloat16Bits, writeModel } from '../src/index';

function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  return a;
}

describe('GraphBuilder + encodeModel run in ONNX Runtime', () => {
  it('softmax(x @ W) with a symbolic batch dim matches a float64 computation', async () => {
    const g = new GraphBuilder('mm');
    const x = g.input('x', 'float32', ['batch', 4]);
    const w = randn(12);
    const W = g.initializer('W', tensor('float32', [4, 3], w));
    const y = g.op('Softmax', [g.op('MatMul', [x, W])], { axis: -1 });
    g.output(y, 'y', 'float32', ['batch', 3]);
    const session = await ort.InferenceSession.create(encodeModel(g).model);
    const xs = randn(8);
    const { y: out } = await session.run({ x: new ort.Tensor('float32', xs, [2, 4]) });
    const got = out.data as Float32Array;
    for (let b = 0; b < 2; b++) {
      const z = [0, 1, 2].map((j) => [0, 1, 2, 3].reduce((s, k) => s + xs[b * 4 + k] * w[k * 3 + j], 0));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, c) => a + c, 0);
      for (let j = 0; j < 3; j++) expect(Math.abs(got[b * 3 + j] - e[j] / sum)).toBeLessThan(1e-6);
    }
  });

  it('encodes float/int/ints attributes, int64 constants, optional inputs and multi-output ops', async () => {
    const g = new GraphBuilder('attrs');
    const x = g.input('x', 'float32', [2, 6]);
    const [a, b] = g.opN('Split', [x, g.ints([2, 4])], 2, { axis: 1 });
    const lrelu = g.op('LeakyRelu', [a], { alpha: float(0.5) });
    const clipped = g.op('Clip', [b, null, g.scalar('float32', 0)]);
    const r = g.op('Reshape', [g.op('Concat', [lrelu, clipped], { axis: 1 }), g.ints([3, 4])]);
    g.output(r, 'r', 'float32', [3, 4]);
    const s = await ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model);
    const xs = Float32Array.from([-1, 2, 3, -4, 5, -6, 7, -8, 9, 1, -2, 0]);
    const { r: out } = await s.run({ x: new ort.Tensor('float32', xs, [2, 6]) });
    expect(out.dims).toEqual([3, 4]);
    expect(Array.from(out.data as Float32Array)).toEqual([-0.5, 2, 0, -4, 0, -6, 7, -4, 0, 0, -2, 0]);
  });

  it('encodes If branches as subgraphs that share the outer graph\'s weights and names', async () => {
    const g = new GraphBuilder('branches');
    const x = g.input('x', 'float32', ['rows', 4]);
    const cond = g.input('cond', 'bool', []);
    const w = randn(12);
    const W = g.initializer('W', tensor('float32', [4, 3], w));
    const out = (value: ReturnType<GraphBuilder['op']>, cols = 3) => ({ value, dtype: 'float32' as const, shape: ['rows', cols] });
    const thenBranch = g.subgraph('then', (b) => [out(b.op('MatMul', [x, W])), out(b.op('Abs', [x]), 4)]);
    // The else branch makes a constant (kept in the outer graph) and passes an outer value through.
    const elseBranch = g.subgraph('else', (b) => [out(b.op('Mul', [b.op('MatMul', [x, W]), b.scalar('float32', 2)])), out(x, 4)]);
    expect([...g.initializers.keys()]).toHaveLength(2); // W and the scalar 2
    expect(elseBranch.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Mul', 'Identity']);
    const [z, xPassed] = g.opN('If', [cond], 2, { then_branch: thenBranch, else_branch: elseBranch });
    g.output(z, 'z', 'float32', ['rows', 3]);
    g.output(xPassed, 'xp', 'float32', ['rows', 4]);
    const names = g.nodes.map((n) => n.name).concat(...[thenBranch, elseBranch].map((a) => a.graph.nodes.map((n) => n.name)));
    expect(new Set(names).size).toBe(names.length);
    const session = await ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model);
    const xs = randn(8);
    const xw = [0, 1].flatMap((r) => [0, 1, 2].map((j) => [0, 1, 2, 3].reduce((s, k) => s + xs[r * 4 + k] * w[k * 3 + j], 0)));
    for (const c of [true, false]) {
      const res = await session.run({ x: new ort.Tensor('float32', xs, [2, 4]), cond: new ort.Tensor('bool', [c], []) });
      const expectZ = xw.map((v) => (c ? v : 2 * v));
      (res.z.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expectZ[i], 5));
      expect(Array.from(res.xp.data as Float32Array)).toEqual(Array.from(xs, (v) => (c ? Math.abs(v) : v)));
    }
  });

  it('stores large initializers as external data and ORT reads them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvbench-onnx-'));
    try {
      const g = new GraphBuilder('ext');
      const x = g.input('x', 'float32', [1, 256]);
      const w = randn(256 * 64);
      const y = g.op('MatMul', [x, g.initializer('W', tensor('float32', [256, 64], w))]);
      g.output(y, 'y', 'float32', [1, 64]);
      const files = await writeModel(join(dir, 'm.onnx'), g, { externalData: { location: 'm.onnx.data', minBytes: 1024 } });
      expect(files).toHaveLength(2);
      const s = await ort.InferenceSession.create(files[0]);
      const xs = randn(256);
      const { y: out } = await s.run({ x: new ort.Tensor('float32', xs, [1, 256]) });
      const got = out.data as Float32Array;
      for (let j = 0; j < 64; j++) {
        let ref = 0;
        for (let k = 0; k < 256; k++) ref += xs[k] * w[k * 64 + j];
        expect(Math.abs(got[j] - ref)).toBeLessThan(1e-4 * (1 + Math.abs(ref)));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fp16 conversion rounds to nearest even and handles subnormals, overflow and NaN', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('bulk fp16 conversion (float16Bytes) agrees with toFloat16Bits, also on a subarray', () => {
    const values = randn(4099).map((x) => x * 3);
    values.set([NaN, -0, 70000, -Infinity, 2 ** -25, 3 * 2 ** -25, 65520, 1 + 2 ** -11], 0);
    for (const view of [values, values.subarray(3)]) {
      const bits = new Uint16Array(float16Bytes(view).buffer);
      let mismatches = 0;
      for (let i = 0; i < view.length; i++) if (bits[i] !== toFloat16Bits(view[i])) mismatches++;
      expect(mismatches).toBe(0);
    }
  });
});
