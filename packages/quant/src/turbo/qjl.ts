// QJL (quantizers.md §8.2): a 1-bit sketch z = sign(S r) with S ∈ R^(d×d), S_ij ~ N(0, 1) shared, and the
// norm γ = ‖r‖. Decode r̂ = (√(π/2)/d)·γ·Sᵀz is unbiased: for a Gaussian row s and unit r,
// E[s·sign(sᵀr)] = √(2/π)·r. Var⟨y, r̂⟩ <= (π/(2d))·‖y‖²·‖r‖².
import { SeededRng } from '../rotation/random';
import type { NormDtype } from './norm-storage';
import { roundNorm } from './norm-storage';

export interface QjlCode {
  gamma: number;
  /** ±1 per projection. */
  signs: Int8Array;
}

export class Qjl {
  readonly dim: number;
  readonly seed: number;
  /** Row-major d x d Gaussian projection. */
  readonly projection: Float64Array;
  readonly normDtype: NormDtype;
  /** √(π/2)/d: the decode constant that makes the estimator unbiased. */
  readonly scale: number;

  constructor(dim: number, options: { seed: number; normDtype?: NormDtype }) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim: must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.seed = options.seed;
    this.normDtype = options.normDtype ?? 'float16';
    const rng = new SeededRng(options.seed);
    this.projection = Float64Array.from({ length: dim * dim }, () => rng.normal());
    this.scale = Math.sqrt(Math.PI / 2) / dim;
  }

  encode(r: ArrayLike<number>): QjlCode {
    const d = this.dim;
    if (r.length !== d) throw new Error(`Qjl.encode: vector has length ${r.length}, expected ${d}`);
    let ss = 0;
    for (let i = 0; i < d; i++) ss += r[i] * r[i];
    const signs = new Int8Array(d);
    const proj = this.projection;
    const rs = r instanceof Float64Array ? r : Float64Array.from(r);
    for (let i = 0; i < d; i++) {
      let s = 0;
      const row = i * d;
      for (let j = 0; j < d; j++) s += proj[row + j] * rs[j];
      signs[i] = s >= 0 ? 1 : -1; // sign(0) := +1, so every code is one bit
    }
    return { gamma: roundNorm(Math.sqrt(ss), this.normDtype), signs };
  }

  decode(code: QjlCode, out = new Float64Array(this.dim)): Float64Array {
    const d = this.dim;
    out.fill(0);
    if (code.gamma === 0) return out; // skip QJL when γ = 0 (quantizers.md §9)
    const proj = this.projection;
    for (let i = 0; i < d; i++) {
      const z = code.signs[i];
      const row = i * d;
      for (let j = 0; j < d; j++) out[j] += proj[row + j] * z;
    }
    const f = this.scale * code.gamma;
    for (let j = 0; j < d; j++) out[j] *= f;
    return out;
  }
}
