import { describe, expect, it } from 'vitest';
import { lloydMaxCodebook, nearestCentroid, turboCodebook } from '../src/turbo/codebook';
import { integrableLaw } from '../src/turbo/coordinate-law';

// quantizers.md §8.4 (recomputed with SciPy): positive halves.
const GAUSSIAN = [
  { centroids: [0.7979], mse: 0.36338 },
  { centroids: [0.4528, 1.5104], mse: 0.11748 },
  { centroids: [0.2451, 0.756, 1.3439, 2.1519], mse: 0.03455 },
  { centroids: [0.1284, 0.388, 0.6568, 0.9423, 1.2562, 1.618, 2.069, 2.7326], mse: 0.0095 },
];
// d = 128 sphere marginal: centroids·√128, D_mse = 128·mse.
const SPHERE_128 = [
  { centroids: [0.7994], dmse: 0.3609 },
  { centroids: [0.4525, 1.5052], dmse: 0.116 },
  { centroids: [0.2444, 0.7533, 1.3366, 2.1315], dmse: 0.03397 },
  { centroids: [0.1279, 0.3864, 0.6536, 0.9371, 1.2478, 1.6043, 2.0459, 2.6889], dmse: 0.00931 },
];

describe('Lloyd-Max codebooks by numerical integration', () => {
  it('the laws integrate to 1 with variance 1 (Gaussian) and 1/d (sphere)', () => {
    for (const law of [integrableLaw({ kind: 'gaussian' }), ...[2, 3, 16, 128, 1024].map((dim) => integrableLaw({ kind: 'sphere', dim }))]) {
      const m = law.moments(-1e9, 1e9);
      expect(Math.abs(m.mass - 1)).toBeLessThan(1e-12);
      expect(Math.abs(m.first)).toBeLessThan(1e-14);
      expect(Math.abs(m.second / law.sigma ** 2 - 1)).toBeLessThan(1e-10);
    }
    // f_d closed form at t = 0 for d = 4: Γ(2)/(√π Γ(3/2)) = 2/π.
    expect(integrableLaw({ kind: 'sphere', dim: 4 }).density(0)).toBeCloseTo(2 / Math.PI, 12);
  });

  it('reproduces the Gaussian table of quantizers.md §8.4 (centroids to 1e-4, MSE to 1e-5)', () => {
    GAUSSIAN.forEach((row, i) => {
      const cb = lloydMaxCodebook({ kind: 'gaussian' }, i + 1);
      const positive = Array.from(cb.centroids.slice(cb.centroids.length / 2));
      positive.forEach((c, j) => expect(Math.abs(c - row.centroids[j])).toBeLessThanOrEqual(0.5e-4 + 1e-9));
      expect(Math.abs(cb.mse - row.mse)).toBeLessThanOrEqual(0.5e-5 + 1e-9);
      expect(cb.boundaries.length).toBe(cb.centroids.length - 1);
    });
    // b = 1 in closed form: centroid √(2/π), MSE 1 - 2/π.
    const one = lloydMaxCodebook({ kind: 'gaussian' }, 1);
    expect(one.centroids[1]).toBeCloseTo(Math.sqrt(2 / Math.PI), 12);
    expect(one.mse).toBeCloseTo(1 - 2 / Math.PI, 12);
  });

  it('reproduces the exact sphere marginal table for d = 128', () => {
    SPHERE_128.forEach((row, i) => {
      const cb = turboCodebook(128, i + 1, 'sphere');
      const positive = Array.from(cb.centroids.slice(cb.centroids.length / 2)).map((c) => c * Math.sqrt(128));
      positive.forEach((c, j) => expect(Math.abs(c - row.centroids[j])).toBeLessThanOrEqual(0.5e-4 + 1e-9));
      expect(Math.abs(128 * cb.mse - row.dmse) / row.dmse).toBeLessThan(2e-3);
    });
    // The Gaussian-limit codebook is the unit table scaled by 1/√d.
    const g = turboCodebook(128, 2, 'gaussian');
    expect(g.centroids[3] * Math.sqrt(128)).toBeCloseTo(1.5104, 4);
  });

  it('d = 3 is the uniform law on [-1, 1]: uniform quantizer cells and MSE step²/12', () => {
    const b1 = lloydMaxCodebook({ kind: 'sphere', dim: 3 }, 1);
    expect(Array.from(b1.centroids).map((c) => +c.toFixed(10))).toEqual([-0.5, 0.5]);
    expect(b1.mse).toBeCloseTo(1 / 12, 12);
    const b2 = lloydMaxCodebook({ kind: 'sphere', dim: 3 }, 2);
    expect(Array.from(b2.centroids).map((c) => +c.toFixed(10))).toEqual([-0.75, -0.25, 0.25, 0.75]);
    expect(b2.mse).toBeCloseTo(1 / 48, 12);
  });

  it('nearestCentroid is argmin |y - c| and sends exact midpoints to the lower cell', () => {
    const cb = lloydMaxCodebook({ kind: 'gaussian' }, 3);
    for (let i = 0; i < 2000; i++) {
      const y = (Math.random() - 0.5) * 8;
      const idx = nearestCentroid(cb, y);
      const dists = Array.from(cb.centroids).map((c) => Math.abs(y - c));
      expect(dists[idx]).toBeCloseTo(Math.min(...dists), 14);
    }
    expect(nearestCentroid(cb, cb.boundaries[3])).toBe(3);
    expect(nearestCentroid(cb, -Infinity)).toBe(0);
    expect(nearestCentroid(cb, Infinity)).toBe(7);
    expect(() => lloydMaxCodebook({ kind: 'gaussian' }, 0)).toThrow(/bits/);
  });
});
