import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel } from '@kvbench/onnx';
import { createRotation, rotateRows, unrotateRows } from '../src/rotation/create';
import { RandomizedHadamard, fwht } from '../src/rotation/hadamard';
import { HaarRotation, IdentityRotation, haarOrthogonal } from '../src/rotation/haar';
import { quantizeRotated } from '../src/rotation/rotate-quantize';
import { emitRotation } from '../src/rotation/onnx';
import { SeededRng } from '../src/rotation/random';
import type { Rotation } from '../src/rotation/rotation';

const randn = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
const randVec = (n: number) => Float64Array.from({ length: n }, randn);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const popcount = (x: number) => x.toString(2).split('').filter((c) => c === '1').length;

/** max |ΠᵀΠ - I| for a row-major p x n matrix. */
function isometryError(m: Float64Array, p: number, n: number): number {
  let worst = 0;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      let s = 0;
      for (let i = 0; i < p; i++) s += m[i * n + a] * m[i * n + b];
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

describe('randomized Walsh-Hadamard and Haar rotations', () => {
  it('fwht equals multiplication by the Sylvester Hadamard matrix', () => {
    for (const n of [1, 2, 8, 64]) {
      const x = randVec(n);
      const y = fwht(Float64Array.from(x));
      for (let i = 0; i < n; i++) {
        let ref = 0;
        for (let j = 0; j < n; j++) ref += (popcount(i & j) % 2 ? -1 : 1) * x[j];
        expect(Math.abs(y[i] - ref)).toBeLessThan(1e-12 * n);
      }
    }
    expect(() => fwht(new Float64Array(6))).toThrow(/power of two/);
  });

  for (const [dim, rounds] of [[64, 1], [128, 2], [48, 1], [8, 3]] as const) {
    it(`RWHT d=${dim}, ${rounds} round(s): orthogonal, invertible, matches its matrix, preserves q·k`, () => {
      const r = new RandomizedHadamard(dim, { seed: 1234 + dim, rounds });
      const p = r.outputDim;
      expect(p).toBe(dim === 48 ? 64 : dim);
      const m = r.matrix();
      expect(isometryError(m, p, dim)).toBeLessThan(1e-13);
      const q = randVec(dim);
      const k = randVec(dim);
      const rq = r.apply(q);
      const rk = r.apply(k);
      for (let i = 0; i < p; i++) {
        let ref = 0;
        for (let j = 0; j < dim; j++) ref += m[i * dim + j] * q[j];
        expect(Math.abs(rq[i] - ref)).toBeLessThan(1e-12);
      }
      expect(Math.abs(dot(rq, rk) - dot(q, k))).toBeLessThan(1e-11);
      const back = r.applyTranspose(rq);
      for (let i = 0; i < dim; i++) expect(Math.abs(back[i] - q[i])).toBeLessThan(1e-12);
      // One round spreads a basis vector evenly: every entry of Π e_0 is ±1/√p.
      if (rounds === 1) {
        const e0 = new Float64Array(dim);
        e0[0] = 1;
        for (const v of r.apply(e0)) expect(Math.abs(Math.abs(v) - 1 / Math.sqrt(p))).toBeLessThan(1e-15);
      }
    });
  }

  it('is deterministic in the seed and differs across seeds', () => {
    const a = new RandomizedHadamard(32, { seed: 7 });
    const b = new RandomizedHadamard(32, { seed: 7 });
    const c = new RandomizedHadamard(32, { seed: 8 });
    expect(Array.from(a.signs)).toEqual(Array.from(b.signs));
    expect(Array.from(a.signs)).not.toEqual(Array.from(c.signs));
    expect(Array.from(haarOrthogonal(6, 3))).toEqual(Array.from(haarOrthogonal(6, 3)));
    const rng = new SeededRng(5);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < 20000; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    expect(Math.abs(sum / 20000)).toBeLessThan(0.04);
    expect(Math.abs(sumSq / 20000 - 1)).toBeLessThan(0.05);
  });

  it('Haar rotation: orthogonal, inverse, and the sign fix makes entries centred (Householder alone would not)', () => {
    const h = new HaarRotation(40, { seed: 11 });
    expect(isometryError(h.matrix(), 40, 40)).toBeLessThan(1e-13);
    const x = randVec(40);
    const back = h.applyTranspose(h.apply(x));
    for (let i = 0; i < 40; i++) expect(Math.abs(back[i] - x[i])).toBeLessThan(1e-12);
    // Over many seeds: E[Π00] = 0 and E[Π00²] = 1/d for Haar; unfixed Householder QR makes Π00 < 0 always.
    const d = 4;
    let mean = 0;
    let meanSq = 0;
    const n = 3000;
    for (let s = 0; s < n; s++) {
      const m = haarOrthogonal(d, 1000 + s);
      mean += m[0] / n;
      meanSq += (m[0] * m[0]) / n;
    }
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(meanSq - 1 / d)).toBeLessThan(0.03);
  });

  it('rotateRows / unrotateRows round-trip blocks of head vectors and keep every q·k', () => {
    const r = createRotation(24, { kind: 'hadamard', seed: 3 });
    const keys = randVec(5 * 24);
    const q = randVec(24);
    const rk = rotateRows(r, keys, 5);
    const rq = r.apply(q);
    for (let t = 0; t < 5; t++) {
      expect(Math.abs(dot(rq, rk.subarray(t * 32, t * 32 + 32)) - dot(q, keys.subarray(t * 24, t * 24 + 24)))).toBeLessThan(1e-12);
    }
    const back = unrotateRows(r, rk, 5);
    for (let i = 0; i < keys.length; i++) expect(Math.abs(back[i] - keys[i])).toBeLessThan(1e-12);
    expect(() => createRotation(8, { kind: 'nope' as 'haar', seed: 1 })).toThrow(/rotation.kind/);
  });

  for (const rotation of [new RandomizedHadamard(48, { seed: 21 }), new HaarRotation(16, { seed: 5 })] as Rotation[]) {
    it(`ONNX MatMul emitter (${rotation.kind}, ${rotation.inputDim}->${rotation.outputDim}) matches the TS rotation and its inverse on the CPU provider`, async () => {
      const g = new GraphBuilder('rotation');
      const x = g.input('x', 'float32', ['rows', rotation.inputDim]);
      const y = emitRotation(g, x, rotation);
      const back = emitRotation(g, y, rotation, { inverse: true });
      g.output(y, 'y', 'float32', ['rows', rotation.outputDim]);
      g.output(back, 'back', 'float32', ['rows', rotation.inputDim]);
      const session = await ort.InferenceSession.create(encodeModel(g).model);
      const rows = 6;
      const xs = Float32Array.from({ length: rows * rotation.inputDim }, randn);
      const out = await session.run({ x: new ort.Tensor('float32', xs, [rows, rotation.inputDim]) });
      const ref = rotateRows(rotation, xs, rows);
      const got = out.y.data as Float32Array;
      for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(1e-5);
      const gotBack = out.back.data as Float32Array;
      for (let i = 0; i < xs.length; i++) expect(Math.abs(gotBack[i] - xs[i])).toBeLessThan(1e-5);
    });
  }
});

describe('rotation around a grouped quantizer', () => {
  /** Per-row asymmetric min-max fake quantization at `bits` (round half up is fine for this test). */
  const minMax = (bits: number) => (x: Float64Array, rows: number, dim: number) => {
    const out = new Float64Array(x.length);
    const q = 2 ** bits - 1;
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * dim, (r + 1) * dim);
      const lo = Math.min(...row);
      const hi = Math.max(...row);
      const step = (hi - lo) / q || 1;
      for (let i = 0; i < dim; i++) out[r * dim + i] = lo + Math.round((row[i] - lo) / step) * step;
    }
    return out;
  };

  it('spreads an outlier channel: 2-bit per-token error drops under a randomized Hadamard; identity = plain quantizer', () => {
    const rows = 64;
    const dim = 64;
    const x = randVec(rows * dim);
    for (let r = 0; r < rows; r++) x[r * dim + 5] += 40; // one massive key channel, as real keys have
    const err = (y: ArrayLike<number>) => Math.sqrt(x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / x.reduce((s, v) => s + v * v, 0));
    const plain = quantizeRotated(new IdentityRotation(dim), x, rows, minMax(2));
    const direct = minMax(2)(Float64Array.from(x), rows, dim);
    expect(Array.from(plain)).toEqual(Array.from(direct));
    const rotated = quantizeRotated(new RandomizedHadamard(dim, { seed: 9 }), x, rows, minMax(2));
    expect(err(rotated)).toBeLessThan(0.75 * err(plain)); // measured ≈ 0.31 vs 0.50
    expect(() => quantizeRotated(new IdentityRotation(dim), x, rows, () => new Float64Array(3))).toThrow(/expected/);
  });
});
