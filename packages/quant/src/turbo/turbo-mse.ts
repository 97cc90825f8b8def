// TurboQuant_mse (quantizers.md §8.1): x -> (ν = ‖x‖, idx_j = nearest centroid of (Π x/ν)_j); decode
// x̃ = ν·Πᵀ c_idx. One quantizer per head size; Π and the codebook are shared by every vector.
import type { Rotation } from '../rotation/rotation';
import type { RotationConfig } from '../rotation/create';
import { createRotation } from '../rotation/create';
import type { Codebook } from './codebook';
import { nearestCentroid, turboCodebook } from './codebook';
import type { NormDtype } from './norm-storage';
import { roundNorm } from './norm-storage';

export interface TurboMseOptions {
  bits: number;
  /** A rotation config (default: randomized Hadamard, seed 0) or a ready rotation of this dim. */
  rotation?: RotationConfig | Rotation;
  /** Codebook law: the exact sphere marginal of the rotated dim (default) or its Gaussian limit. */
  codebook?: 'sphere' | 'gaussian';
  /** Dtype the norm is stored in (default float16, as the byte counts of §10.3 assume). */
  normDtype?: NormDtype;
}

export interface TurboMseCode {
  /** Stored norm ν (already rounded to normDtype); 0 for the zero vector. */
  norm: number;
  /** One centroid index per rotated coordinate (length rotation.outputDim). */
  indices: Uint8Array;
}

export function resolveRotation(dim: number, rotation: RotationConfig | Rotation | undefined): Rotation {
  if (rotation && 'apply' in rotation) {
    if (rotation.inputDim !== dim) throw new Error(`rotation: built for dim ${rotation.inputDim}, quantizer dim is ${dim}`);
    return rotation;
  }
  return createRotation(dim, rotation ?? { kind: 'hadamard', seed: 0 });
}

export class TurboQuantMse {
  readonly dim: number;
  readonly bits: number;
  readonly rotation: Rotation;
  readonly codebook: Codebook;
  readonly normDtype: NormDtype;

  constructor(dim: number, options: TurboMseOptions) {
    if (!Number.isInteger(dim) || dim < 2) throw new Error(`dim: must be an integer >= 2, got ${dim}`);
    this.dim = dim;
    this.bits = options.bits;
    this.rotation = resolveRotation(dim, options.rotation);
    this.codebook = turboCodebook(this.rotation.outputDim, options.bits, options.codebook ?? 'sphere');
    this.normDtype = options.normDtype ?? 'float16';
  }

  encode(x: ArrayLike<number>): TurboMseCode {
    if (x.length !== this.dim) throw new Error(`TurboQuantMse.encode: vector has length ${x.length}, expected ${this.dim}`);
    let ss = 0;
    for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
    const norm = Math.sqrt(ss);
    const indices = new Uint8Array(this.rotation.outputDim);
    if (norm === 0 || !Number.isFinite(norm)) {
      // ν = 0 decodes to 0 whatever the indices (non-finite input: ν carries the NaN/Inf through).
      return { norm: norm === 0 ? 0 : NaN, indices };
    }
    const u = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) u[i] = x[i] / norm;
    const y = this.rotation.apply(u);
    for (let j = 0; j < y.length; j++) indices[j] = nearestCentroid(this.codebook, y[j]);
    return { norm: roundNorm(norm, this.normDtype), indices };
  }

  decode(code: TurboMseCode): Float64Array {
    const out = new Float64Array(this.dim);
    if (code.norm === 0) return out;
    const y = new Float64Array(this.rotation.outputDim);
    for (let j = 0; j < y.length; j++) y[j] = this.codebook.centroids[code.indices[j]];
    this.rotation.applyTranspose(y, out);
    for (let i = 0; i < this.dim; i++) out[i] *= code.norm;
    return out;
  }

  /** decode(encode(x)): the simulated (fake-quant) round trip. */
  quantize(x: ArrayLike<number>): Float64Array {
    return this.decode(this.encode(x));
  }
}
