// A Haar-distributed random orthogonal d x d matrix (TurboQuant's Π, quantizers.md §8.1): Householder QR of
// a seeded Gaussian matrix, with Q's columns multiplied by the signs of diag(R) so the law is exactly Haar.
import { SeededRng } from './random';
import type { Rotation } from './rotation';
import { checkLength } from './rotation';

/** Row-major d x d Haar orthogonal matrix from `seed`. */
export function haarOrthogonal(d: number, seed: number): Float64Array {
  if (!Number.isInteger(d) || d < 1) throw new Error(`haarOrthogonal: d must be a positive integer, got ${d}`);
  const rng = new SeededRng(seed);
  // Column-major working copy of G.
  const a = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) a[i] = rng.normal();
  const vs: Float64Array[] = [];
  const rSigns = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const col = j * d;
    let ss = 0;
    for (let i = j; i < d; i++) ss += a[col + i] * a[col + i];
    const norm = Math.sqrt(ss);
    const alpha = a[col + j] > 0 ? -norm : norm; // R[j][j] = alpha
    rSigns[j] = alpha < 0 ? -1 : 1;
    const v = new Float64Array(d - j);
    for (let i = j; i < d; i++) v[i - j] = a[col + i];
    v[0] -= alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    if (vv > 0) {
      const s = Math.sqrt(2 / vv);
      for (let i = 0; i < v.length; i++) v[i] *= s;
      for (let c = j; c < d; c++) {
        const cc = c * d;
        let dot = 0;
        for (let i = j; i < d; i++) dot += v[i - j] * a[cc + i];
        for (let i = j; i < d; i++) a[cc + i] -= dot * v[i - j];
      }
    } else {
      v.fill(0);
    }
    vs.push(v);
  }
  // Q = H_0 ... H_{d-1} I, then Q[:, j] *= sign(R[j][j]).
  const q = new Float64Array(d * d); // column-major
  for (let c = 0; c < d; c++) q[c * d + c] = 1;
  for (let j = d - 1; j >= 0; j--) {
    const v = vs[j];
    for (let c = 0; c < d; c++) {
      const cc = c * d;
      let dot = 0;
      for (let i = j; i < d; i++) dot += v[i - j] * q[cc + i];
      if (dot !== 0) for (let i = j; i < d; i++) q[cc + i] -= dot * v[i - j];
    }
  }
  const out = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) out[r * d + c] = q[c * d + r] * rSigns[c];
  return out;
}

export class HaarRotation implements Rotation {
  readonly kind = 'haar' as const;
  readonly seed: number;
  readonly inputDim: number;
  readonly outputDim: number;
  /** Row-major d x d. */
  readonly pi: Float64Array;

  constructor(dim: number, options: { seed: number }) {
    this.seed = options.seed;
    this.inputDim = dim;
    this.outputDim = dim;
    this.pi = haarOrthogonal(dim, options.seed);
  }

  apply(x: ArrayLike<number>, out = new Float64Array(this.outputDim)): Float64Array {
    checkLength('HaarRotation.apply', x, this.inputDim);
    const d = this.inputDim;
    const pi = this.pi;
    const xs = x instanceof Float64Array ? x : Float64Array.from(x);
    for (let i = 0; i < d; i++) {
      let s = 0;
      const row = i * d;
      for (let j = 0; j < d; j++) s += pi[row + j] * xs[j];
      out[i] = s;
    }
    return out;
  }

  applyTranspose(y: ArrayLike<number>, out = new Float64Array(this.inputDim)): Float64Array {
    checkLength('HaarRotation.applyTranspose', y, this.outputDim);
    const d = this.inputDim;
    const pi = this.pi;
    out.fill(0);
    for (let i = 0; i < d; i++) {
      const yi = y[i];
      const row = i * d;
      for (let j = 0; j < d; j++) out[j] += pi[row + j] * yi;
    }
    return out;
  }

  matrix(): Float64Array {
    return Float64Array.from(this.pi);
  }
}

/** Π = I: lets a caller switch rotation off without a separate code path. */
export class IdentityRotation implements Rotation {
  readonly kind = 'identity' as const;
  readonly seed = 0;
  readonly outputDim: number;
  constructor(readonly inputDim: number) {
    this.outputDim = inputDim;
  }
  apply(x: ArrayLike<number>, out = new Float64Array(this.outputDim)): Float64Array {
    checkLength('IdentityRotation.apply', x, this.inputDim);
    for (let i = 0; i < this.inputDim; i++) out[i] = x[i];
    return out;
  }
  applyTranspose(y: ArrayLike<number>, out = new Float64Array(this.inputDim)): Float64Array {
    return this.apply(y, out);
  }
  matrix(): Float64Array {
    const m = new Float64Array(this.inputDim * this.inputDim);
    for (let i = 0; i < this.inputDim; i++) m[i * this.inputDim + i] = 1;
    return m;
  }
}
