// Seeded random inputs for the quantizer tests. Every run draws a fresh seed (override with QUANT_SEED)
// and the tests put it in their failure messages so a failure can be replayed.

export const SEED = process.env.QUANT_SEED ? Number(process.env.QUANT_SEED) : Math.floor(Math.random() * 2 ** 31);

export type Rng = () => number;

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(r: Rng): number {
  const u = 1 - r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export type Distribution = 'gaussian' | 'heavy-tailed' | 'constant-groups' | 'tiny-range' | 'non-finite';
export const DISTRIBUTIONS: Distribution[] = ['gaussian', 'heavy-tailed', 'constant-groups', 'tiny-range', 'non-finite'];

/**
 * A [B,H,S,D] fp32 tensor. heavy-tailed: Student-t(3)-like values with a few outlier channels scaled by
 * 10-50 (the key-cache pattern). constant-groups: every element of some groups (given as index lists)
 * equal. tiny-range: an offset plus noise of 1e-7..1e-3. non-finite: Gaussian with NaN, +Inf, -Inf.
 */
export function tensor(r: Rng, shape: readonly number[], dist: Distribution, groups?: ArrayLike<number>[]): Float32Array {
  const [B, H, S, D] = shape;
  const n = B * H * S * D;
  const x = new Float32Array(n);
  const scale = 0.1 + 3 * r();
  const offset = (r() - 0.5) * 4;
  switch (dist) {
    case 'gaussian':
      for (let i = 0; i < n; i++) x[i] = offset + scale * gaussian(r);
      break;
    case 'heavy-tailed': {
      const outlier = new Float64Array(D).fill(1);
      for (let k = 0; k < Math.max(1, D >> 4); k++) outlier[Math.floor(r() * D)] = 10 + 40 * r();
      for (let i = 0; i < n; i++) {
        const chi = (gaussian(r) ** 2 + gaussian(r) ** 2 + gaussian(r) ** 2) / 3;
        x[i] = (scale * outlier[i % D] * gaussian(r)) / Math.sqrt(chi + 1e-12);
      }
      break;
    }
    case 'constant-groups':
      for (let i = 0; i < n; i++) x[i] = offset + scale * gaussian(r);
      if (groups) {
        for (const g of groups) {
          if (r() < 0.3) {
            const c = r() < 0.2 ? 0 : offset + gaussian(r);
            for (let i = 0; i < g.length; i++) x[g[i]] = c;
          }
        }
      }
      break;
    case 'tiny-range': {
      const noise = 10 ** (-7 + 4 * r());
      for (let i = 0; i < n; i++) x[i] = offset + noise * gaussian(r);
      break;
    }
    case 'non-finite':
      for (let i = 0; i < n; i++) {
        const u = r();
        x[i] = u < 0.01 ? NaN : u < 0.015 ? Infinity : u < 0.02 ? -Infinity : offset + scale * gaussian(r);
      }
      break;
  }
  return x;
}

export function pick<T>(r: Rng, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}
