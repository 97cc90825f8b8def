// TurboQuant_prod (quantizers.md §8.2): b-1 bit TurboQuant_mse, then 1-bit QJL on the residual
// r = x - x̃_mse (original basis); decode x̃ = x̃_mse + (√(π/2)/d)·γ·Sᵀz. Unbiased inner products:
// E⟨y, x̃⟩ = ⟨y, x⟩. At b = 1 it is plain QJL on x.
import type { Rotation } from '../rotation/rotation';
import type { RotationConfig } from '../rotation/create';
import type { NormDtype } from './norm-storage';
import type { QjlCode } from './qjl';
import { Qjl } from './qjl';
import type { TurboMseCode } from './turbo-mse';
import { TurboQuantMse } from './turbo-mse';

export interface TurboProdOptions {
  /** Total bits per coordinate (b - 1 for the MSE stage, 1 for QJL). */
  bits: number;
  rotation?: RotationConfig | Rotation;
  codebook?: 'sphere' | 'gaussian';
  /** Seed of the QJL projection S (default 1, distinct from the rotation's default 0). */
  qjlSeed?: number;
  normDtype?: NormDtype;
}

export interface TurboProdCode {
  /** Absent at b = 1. */
  mse: TurboMseCode | null;
  qjl: QjlCode;
}

export class TurboQuantProd {
  readonly dim: number;
  readonly bits: number;
  readonly mse: TurboQuantMse | null;
  readonly qjl: Qjl;

  constructor(dim: number, options: TurboProdOptions) {
    if (!Number.isInteger(options.bits) || options.bits < 1) throw new Error(`bits: TurboQuant_prod needs an integer >= 1, got ${options.bits}`);
    this.dim = dim;
    this.bits = options.bits;
    this.mse = options.bits > 1
      ? new TurboQuantMse(dim, { bits: options.bits - 1, rotation: options.rotation, codebook: options.codebook, normDtype: options.normDtype })
      : null;
    this.qjl = new Qjl(dim, { seed: options.qjlSeed ?? 1, normDtype: options.normDtype });
  }

  encode(x: ArrayLike<number>): TurboProdCode {
    if (x.length !== this.dim) throw new Error(`TurboQuantProd.encode: vector has length ${x.length}, expected ${this.dim}`);
    if (!this.mse) return { mse: null, qjl: this.qjl.encode(x) };
    const mse = this.mse.encode(x);
    const approx = this.mse.decode(mse);
    const residual = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) residual[i] = x[i] - approx[i];
    return { mse, qjl: this.qjl.encode(residual) };
  }

  decode(code: TurboProdCode): Float64Array {
    const out = code.mse && this.mse ? this.mse.decode(code.mse) : new Float64Array(this.dim);
    const correction = this.qjl.decode(code.qjl);
    for (let i = 0; i < this.dim; i++) out[i] += correction[i];
    return out;
  }

  quantize(x: ArrayLike<number>): Float64Array {
    return this.decode(this.encode(x));
  }
}
