// Lloyd-Max scalar codebooks for TurboQuant (quantizers.md §8.1 step 4, tables §8.4): the 2^b centroids
// minimising E(y - c(y))² under a coordinate law. Lloyd's fixed point: boundaries are midpoints of
// neighbouring centroids, each centroid is the conditional mean of its cell; iterated to convergence.
import type { CoordinateLaw, IntegrableLaw } from './coordinate-law';
import { integrableLaw } from './coordinate-law';

export interface Codebook {
  bits: number;
  law: CoordinateLaw;
  /** 2^bits centroids, ascending, in the law's units (the sphere law's coordinates are ~1/√d). */
  centroids: Float64Array;
  /** 2^bits - 1 decision boundaries (midpoints of neighbouring centroids), ascending. */
  boundaries: Float64Array;
  /** Per-coordinate mean squared error E(y - c(y))². For the sphere, d·mse = D_mse of a unit vector. */
  mse: number;
  iterations: number;
}

export const MAX_CODEBOOK_BITS = 8;
const MAX_ITERATIONS = 200_000;

function lloydMax(law: IntegrableLaw, bits: number): Codebook {
  const k = 1 << bits;
  // Start from centroids spread over ±2.5σ: Lloyd converges from any ordered start.
  const c = Float64Array.from({ length: k }, (_, i) => law.sigma * (-2.5 + (5 * (i + 0.5)) / k));
  const edges = new Float64Array(k + 1);
  let iterations = 0;
  const tolerance = 1e-14 * law.sigma;
  for (; iterations < MAX_ITERATIONS; iterations++) {
    edges[0] = law.lo;
    edges[k] = law.hi;
    for (let i = 1; i < k; i++) edges[i] = 0.5 * (c[i - 1] + c[i]);
    let change = 0;
    for (let i = 0; i < k; i++) {
      const m = law.moments(edges[i], edges[i + 1]);
      if (m.mass <= 0) continue; // an empty cell keeps its centroid
      const next = m.first / m.mass;
      change = Math.max(change, Math.abs(next - c[i]));
      c[i] = next;
    }
    if (change < tolerance) break;
  }
  // Symmetric law: make the codebook exactly antisymmetric (removes last-ulp drift).
  for (let i = 0; i < k / 2; i++) {
    const v = 0.5 * (c[k - 1 - i] - c[i]);
    c[i] = -v;
    c[k - 1 - i] = v;
  }
  const boundaries = Float64Array.from({ length: k - 1 }, (_, i) => 0.5 * (c[i] + c[i + 1]));
  let mse = 0;
  for (let i = 0; i < k; i++) {
    const m = law.moments(i === 0 ? law.lo : boundaries[i - 1], i === k - 1 ? law.hi : boundaries[i]);
    mse += m.second - 2 * c[i] * m.first + c[i] * c[i] * m.mass;
  }
  return { bits, law: law.law, centroids: c, boundaries, mse, iterations };
}

const cache = new Map<string, Codebook>();

/** The (cached) Lloyd-Max codebook of `bits` bits for `law`. */
export function lloydMaxCodebook(law: CoordinateLaw, bits: number): Codebook {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_CODEBOOK_BITS) {
    throw new Error(`bits: codebook width must be an integer 1..${MAX_CODEBOOK_BITS}, got ${bits}`);
  }
  const key = `${law.kind}:${law.kind === 'sphere' ? law.dim : ''}:${bits}`;
  let book = cache.get(key);
  if (!book) {
    book = lloydMax(integrableLaw(law), bits);
    cache.set(key, book);
  }
  return book;
}

/** Codebook for d-dimensional unit vectors: the exact sphere marginal, or the Gaussian limit N(0, 1/d). */
export function turboCodebook(dim: number, bits: number, law: 'sphere' | 'gaussian' = 'sphere'): Codebook {
  if (law === 'sphere') return lloydMaxCodebook({ kind: 'sphere', dim }, bits);
  const g = lloydMaxCodebook({ kind: 'gaussian' }, bits);
  const s = 1 / Math.sqrt(dim);
  return { ...g, centroids: g.centroids.map((v) => v * s), boundaries: g.boundaries.map((v) => v * s), mse: g.mse / dim };
}

/** Index of the nearest centroid: the number of boundaries strictly below y (ties go to the lower cell). */
export function nearestCentroid(book: Pick<Codebook, 'boundaries'>, y: number): number {
  const b = book.boundaries;
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (b[mid] < y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
