// Randomized Walsh-Hadamard transform Π = (1/√p)·H_p·diag(σ) per head vector (quantizers.md §8.1 step 2;
// vLLM's and D'Alberto's "WHT"): seeded random signs σ, the fast O(p log p) butterfly, p = head_dim or
// the next power of two (zero padding). Several rounds (independent signs each) mix more like a Haar
// rotation; one round is the usual choice.
import { SeededRng } from './random';
import type { Rotation } from './rotation';
import { checkLength, rotationMatrix } from './rotation';

/** In-place unnormalized fast Walsh-Hadamard transform (Sylvester order); length must be a power of two. */
export function fwht(x: Float64Array): Float64Array {
  const n = x.length;
  if (n & (n - 1)) throw new Error(`fwht: length ${n} is not a power of two`);
  for (let h = 1; h < n; h <<= 1) {
    for (let i = 0; i < n; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const a = x[j];
        const b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
  return x;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

export interface HadamardOptions {
  seed: number;
  /** Independent sign-flip + WHT rounds; default 1. */
  rounds?: number;
}

export class RandomizedHadamard implements Rotation {
  readonly kind = 'hadamard' as const;
  readonly seed: number;
  readonly inputDim: number;
  readonly outputDim: number;
  readonly rounds: number;
  /** rounds x outputDim signs, ±1. */
  readonly signs: Int8Array;
  private readonly norm: number;

  constructor(dim: number, options: HadamardOptions) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`RandomizedHadamard: dim must be a positive integer, got ${dim}`);
    const rounds = options.rounds ?? 1;
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`RandomizedHadamard: rounds must be a positive integer, got ${rounds}`);
    this.seed = options.seed;
    this.inputDim = dim;
    this.outputDim = nextPowerOfTwo(dim);
    this.rounds = rounds;
    const rng = new SeededRng(options.seed);
    this.signs = Int8Array.from({ length: rounds * this.outputDim }, () => rng.sign());
    this.norm = 1 / Math.sqrt(this.outputDim);
  }

  apply(x: ArrayLike<number>, out = new Float64Array(this.outputDim)): Float64Array {
    checkLength('RandomizedHadamard.apply', x, this.inputDim);
    const p = this.outputDim;
    out.fill(0);
    for (let i = 0; i < this.inputDim; i++) out[i] = x[i];
    for (let r = 0; r < this.rounds; r++) {
      for (let i = 0; i < p; i++) out[i] *= this.signs[r * p + i];
      fwht(out);
      for (let i = 0; i < p; i++) out[i] *= this.norm;
    }
    return out;
  }

  applyTranspose(y: ArrayLike<number>, out = new Float64Array(this.inputDim)): Float64Array {
    checkLength('RandomizedHadamard.applyTranspose', y, this.outputDim);
    const p = this.outputDim;
    // H is symmetric and (H/√p)² = I, so each round inverts as: WHT, normalize, then the same signs.
    const w = Float64Array.from(y);
    for (let r = this.rounds - 1; r >= 0; r--) {
      fwht(w);
      for (let i = 0; i < p; i++) w[i] *= this.norm * this.signs[r * p + i];
    }
    for (let i = 0; i < this.inputDim; i++) out[i] = w[i];
    return out;
  }

  matrix(): Float64Array {
    return rotationMatrix(this);
  }
}
