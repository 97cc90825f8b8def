import { describe, expect, it } from 'vitest';
import { turboCodebook } from '../src/turbo/codebook';
import { turboKvBytesPerToken, turboVectorCost } from '../src/turbo/accounting';
import { quantizeHeadVectors } from '../src/turbo/head-vectors';
import { Qjl } from '../src/turbo/qjl';
import { createTurboKvQuantizers, turboScheme } from '../src/turbo/schemes';
import { TurboQuantMse } from '../src/turbo/turbo-mse';
import { TurboQuantProd } from '../src/turbo/turbo-prod';
import { dot, meanAndStd, randn, randomUnit, squaredDistance } from './turbo-helpers';

const D = 128;
// quantizers.md §8.4 / §11.7.
const SPEC_DMSE = [0.36, 0.117, 0.034, 0.009];
const SPHERE_DMSE = [0.3609, 0.116, 0.03397, 0.00931];

describe('TurboQuant_mse on random unit vectors (d = 128)', () => {
  for (const rotation of [{ kind: 'haar', seed: 17 }, { kind: 'hadamard', seed: 17 }] as const) {
    it(`D_mse ≈ 0.36, 0.117, 0.034, 0.009 for b = 1..4 (${rotation.kind} rotation)`, () => {
      const n = 2000; // per-vector relative std ≈ 0.25 at b = 4, so the mean is within ≈ 0.6%
      const xs = Array.from({ length: n }, () => randomUnit(D));
      for (let b = 1; b <= 4; b++) {
        const q = new TurboQuantMse(D, { bits: b, rotation, normDtype: 'float64' });
        const errs = xs.map((x) => squaredDistance(x, q.quantize(x)));
        const dmse = errs.reduce((a, c) => a + c, 0) / n;
        // Against the exact-sphere value (what Lloyd-Max predicts) and the paper's rounded constants.
        expect(Math.abs(dmse - SPHERE_DMSE[b - 1]) / SPHERE_DMSE[b - 1]).toBeLessThan(0.03);
        // The spec's 0.009 is 0.00931 rounded down (3.4%).
        expect(Math.abs(dmse - SPEC_DMSE[b - 1]) / SPEC_DMSE[b - 1]).toBeLessThan(0.07);
        // Below the paper's upper bound √3π/2·4^-b, above the lower bound 4^-b.
        expect(dmse).toBeLessThan((Math.sqrt(3) * Math.PI) / 2 * 4 ** -b);
        expect(dmse).toBeGreaterThan(4 ** -b);
      }
    });
  }

  it('scales with the norm, stores the norm in fp16 by default, and decodes the zero vector to 0', () => {
    const q = new TurboQuantMse(D, { bits: 3, rotation: { kind: 'hadamard', seed: 2 } });
    const x = randomUnit(D).map((v) => v * 37.5);
    const code = q.encode(x);
    expect(code.indices.length).toBe(D);
    expect(code.norm).toBe(37.5); // exactly representable in fp16
    const rel = squaredDistance(x, q.decode(code)) / 37.5 ** 2;
    expect(rel).toBeLessThan(0.08);
    const zero = q.encode(new Float64Array(D));
    expect(zero.norm).toBe(0);
    expect(Array.from(q.decode(zero)).every((v) => v === 0)).toBe(true);
  });

  it('1-bit MSE shrinks inner products by 2/π (biased), while prod at 1 bit does not', () => {
    const n = 3000;
    const mse = new TurboQuantMse(D, { bits: 1, rotation: { kind: 'haar', seed: 5 }, normDtype: 'float64' });
    // QJL is unbiased over its random projection S, not for one fixed S: draw S afresh across samples.
    const prods = Array.from({ length: 60 }, (_, s) => new TurboQuantProd(D, { bits: 1, qjlSeed: 100 + s, normDtype: 'float64' }));
    const ratioMse: number[] = [];
    const ratioProd: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = randomUnit(D);
      ratioMse.push(dot(x, mse.quantize(x)));
      ratioProd.push(dot(x, prods[i % prods.length].quantize(x)));
    }
    const m = meanAndStd(ratioMse);
    expect(Math.abs(m.mean - 2 / Math.PI)).toBeLessThan(0.01);
    // Finite-d exact value (Π is Haar, so Πx is uniform on the sphere for any fixed Π): d·c², c the 1-bit centroid.
    const c = turboCodebook(D, 1).centroids[1];
    expect(Math.abs(m.mean - D * c * c)).toBeLessThan(4.5 * m.std / Math.sqrt(n));
    const p = meanAndStd(ratioProd);
    expect(Math.abs(p.mean - 1)).toBeLessThan(4.5 * p.std / Math.sqrt(n));
  });
});

describe('QJL and TurboQuant_prod (d = 128)', () => {
  it('QJL decode uses √(π/2)/d and is unbiased; E‖r̂ - r‖² = (π/2 - 1/d)‖r‖²', () => {
    const qjl = new Qjl(D, { seed: 3, normDtype: 'float64' });
    expect(qjl.scale).toBeCloseTo(Math.sqrt(Math.PI / 2) / D, 15);
    const n = 1500;
    const errs: number[] = [];
    const mean = new Float64Array(D);
    const r = randomUnit(D);
    // The expectation is over S: cycle through independently seeded projections.
    const pool = Array.from({ length: 30 }, (_, s) => new Qjl(D, { seed: 40 + s, normDtype: 'float64' }));
    for (let i = 0; i < n; i++) {
      const x = randomUnit(D);
      const q = pool[i % pool.length];
      errs.push(squaredDistance(x, q.decode(q.encode(x))));
    }
    const e = meanAndStd(errs);
    expect(Math.abs(e.mean - (Math.PI / 2 - 1 / D))).toBeLessThan(4.5 * e.std / Math.sqrt(n));
    // Unbiasedness over projections: average r̂ over many independent S for one fixed r.
    const draws = 300;
    for (let s = 0; s < draws; s++) {
      const q = new Qjl(D, { seed: 1000 + s, normDtype: 'float64' });
      const rh = q.decode(q.encode(r));
      for (let i = 0; i < D; i++) mean[i] += rh[i] / draws;
    }
    // Each coordinate of r̂ has variance ≈ (π/2)/d; the mean of 300 draws deviates by ≈ √(π/2/d/300).
    const rms = Math.sqrt(squaredDistance(mean, r) / D);
    expect(rms).toBeLessThan(2 * Math.sqrt(Math.PI / 2 / D / draws));
    expect(Array.from(qjl.decode(qjl.encode(new Float64Array(D)))).every((v) => v === 0)).toBe(true);
  });

  it('D_prod ≈ 1.57/d, 0.56/d, 0.18/d and (π/2 - 1/d)·D_mse(3)/d for b = 1..4, and inner products are unbiased', () => {
    const n = 1200;
    const spec = [1.57, 0.56, 0.18, 0.047];
    for (let b = 1; b <= 4; b++) {
      // Unbiasedness is over the random S (and Π): cycle through independently seeded quantizers.
      const pool = Array.from({ length: 40 }, (_, s) => new TurboQuantProd(D, { bits: b, rotation: { kind: 'hadamard', seed: 7 * s + b }, qjlSeed: 500 + s, normDtype: 'float64' }));
      const sq: number[] = [];
      const direct: number[] = [];
      const signed: number[] = [];
      for (let i = 0; i < n; i++) {
        const x = randomUnit(D);
        const y = randomUnit(D);
        const xq = pool[i % pool.length].quantize(x);
        sq.push(squaredDistance(x, xq));
        const err = dot(y, xq) - dot(y, x);
        direct.push(err * err);
        // A query correlated with x: the signed error must average to 0.
        const yc = x.map((v) => v + 0.3 * randn() / Math.sqrt(D));
        signed.push(dot(yc, xq) - dot(yc, x));
      }
      // For y uniform on the sphere and independent of x, E⟨y, e⟩² = E‖e‖²/d exactly.
      const dprod = meanAndStd(sq).mean / D;
      const expected = ((Math.PI / 2 - 1 / D) * (b === 1 ? 1 : SPHERE_DMSE[b - 2])) / D;
      expect(Math.abs(dprod - expected) / expected).toBeLessThan(0.04);
      const dd = meanAndStd(direct);
      expect(Math.abs(dd.mean - expected)).toBeLessThan(5 * dd.std / Math.sqrt(n));
      if (b <= 3) expect(Math.abs(dprod * D - spec[b - 1]) / spec[b - 1]).toBeLessThan(0.05);
      const s = meanAndStd(signed);
      expect(Math.abs(s.mean)).toBeLessThan(4.5 * s.std / Math.sqrt(n));
      // Theorem bounds: (1/d)·4^-b <= D_prod <= (√3π²/d)·4^-b.
      expect(dprod).toBeGreaterThan(4 ** -b / D);
      expect(dprod).toBeLessThan((Math.sqrt(3) * Math.PI ** 2 * 4 ** -b) / D);
    }
  });

  it('zero vector → 0 for prod at every width', () => {
    for (let b = 1; b <= 4; b++) {
      const q = new TurboQuantProd(16, { bits: b });
      expect(Array.from(q.quantize(new Float64Array(16))).every((v) => v === 0)).toBe(true);
    }
  });
});

describe('TurboQuant bit accounting and D\'Alberto schemes', () => {
  it('bytes per 128-dim vector with fp16 norms: mse b=4 → 66, mse b=3 → 50, prod b=3 → 52, prod b=4 → 68', () => {
    expect(turboVectorCost({ method: 'mse', bits: 4, dim: 128 }).bytes).toBe(66);
    expect(turboVectorCost({ method: 'mse', bits: 4, dim: 128 }).bitsPerElement).toBe(4.125);
    expect(turboVectorCost({ method: 'mse', bits: 3, dim: 128 }).bytes).toBe(50);
    expect(turboVectorCost({ method: 'prod', bits: 3, dim: 128 }).bytes).toBe(52);
    expect(turboVectorCost({ method: 'prod', bits: 3, dim: 128 }).bitsPerElement).toBe(3.25);
    expect(turboVectorCost({ method: 'prod', bits: 4, dim: 128 }).bytes).toBe(68);
    // padded Walsh-Hadamard: 96 -> 128 rotated coordinates are all stored
    expect(turboVectorCost({ method: 'mse', bits: 2, dim: 96, rotatedDim: 128 }).payloadBits).toBe(256);
    // Llama-3.1-8B, KQV at 3 bits: 32 layers · 8 heads · (50 + 52) bytes
    expect(turboKvBytesPerToken({ layers: 32, kvHeads: 8, headDim: 128 }, { method: 'mse', bits: 3 }, { method: 'prod', bits: 3 })).toBe(32 * 8 * 102);
  });

  it('KV, KQV, QKQV put MSE or MSE+QJL on keys and values at a fair budget', () => {
    expect(turboScheme('KV', 3)).toEqual({ scheme: 'KV', key: { method: 'mse', bits: 3 }, value: { method: 'mse', bits: 3 } });
    expect(turboScheme('KQV', 3)).toEqual({ scheme: 'KQV', key: { method: 'mse', bits: 3 }, value: { method: 'prod', bits: 3 } });
    expect(turboScheme('QKQV', 4).key.method).toBe('prod');
    expect(() => turboScheme('QK' as 'KV', 2)).toThrow(/scheme/);
    const { key, value } = createTurboKvQuantizers(64, 'KQV', 3, { rotation: { kind: 'hadamard', seed: 4 } });
    expect(key.bytesPerVector).toBe(24 + 2);
    expect(value.bytesPerVector).toBe(16 + 8 + 4);
    // Means over 64 fresh unit vectors (one vector's error spreads: 0.18 +- 0.045 for the value): keys
    // (MSE, 3 bits) within the paper's bound sqrt(3)·pi/2 · 4^-3 = 0.0425 (measured 0.033 +- 0.001 for the
    // mean); values (2-bit MSE + 1-bit QJL) below 0.25 (measured 0.176 +- 0.006).
    let keyError = 0;
    let valueError = 0;
    for (let t = 0; t < 64; t++) {
      const x = randomUnit(64);
      keyError += squaredDistance(x, key.quantize(x)) / 64;
      valueError += squaredDistance(x, value.quantize(x)) / 64;
    }
    expect(keyError).toBeLessThan((Math.sqrt(3) * Math.PI) / 2 / 4 ** 3);
    expect(valueError).toBeLessThan(0.25);
  });
});

describe('quantizeHeadVectors', () => {
  it('quantizes a [tokens, kvHeads*headDim] block head vector by head vector', () => {
    const q = new TurboQuantMse(16, { bits: 3, rotation: { kind: 'hadamard', seed: 1 } });
    const x = Float64Array.from({ length: 5 * 2 * 16 }, randn);
    const y = quantizeHeadVectors(q, x);
    for (let v = 0; v < 10; v++) {
      const ref = q.quantize(x.subarray(v * 16, (v + 1) * 16));
      expect(Array.from(y.subarray(v * 16, (v + 1) * 16))).toEqual(Array.from(ref));
    }
    expect(() => quantizeHeadVectors(q, new Float64Array(17))).toThrow(/head vectors/);
  });
});
