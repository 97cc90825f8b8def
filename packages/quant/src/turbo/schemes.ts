// D'Alberto's three ways to spend a fair budget of n bits per coordinate on the cache (quantizers.md §8.5):
// KV = TurboQuant_mse on keys and values; KQV = mse on K, mse + QJL (TurboQuant_prod) on V;
// QKQV = prod on both. QJL on keys inflates the variance of q·k by π/2, which softmax turns into bias,
// so KQV is the recommended unbiased variant.
import type { Rotation } from '../rotation/rotation';
import type { RotationConfig } from '../rotation/create';
import type { NormDtype } from './norm-storage';
import { normBits as normBitsOf } from './norm-storage';
import type { TurboMethod } from './accounting';
import { turboVectorCost } from './accounting';
import { TurboQuantMse } from './turbo-mse';
import { TurboQuantProd } from './turbo-prod';

export const TURBO_SCHEMES = ['KV', 'KQV', 'QKQV'] as const;
export type TurboScheme = (typeof TURBO_SCHEMES)[number];

export interface TurboTensorConfig {
  method: TurboMethod;
  bits: number;
}

export interface TurboSchemeConfig {
  scheme: TurboScheme;
  key: TurboTensorConfig;
  value: TurboTensorConfig;
}

export function turboScheme(scheme: TurboScheme, bits: number): TurboSchemeConfig {
  if (!Number.isInteger(bits) || bits < 1) throw new Error(`bits: must be a positive integer, got ${bits}`);
  switch (scheme) {
    case 'KV':
      return { scheme, key: { method: 'mse', bits }, value: { method: 'mse', bits } };
    case 'KQV':
      return { scheme, key: { method: 'mse', bits }, value: { method: 'prod', bits } };
    case 'QKQV':
      return { scheme, key: { method: 'prod', bits }, value: { method: 'prod', bits } };
    default:
      throw new Error(`scheme: unknown "${String(scheme)}" (expected ${TURBO_SCHEMES.join(', ')})`);
  }
}

/** A head-vector quantizer of either method behind one interface. */
export interface TurboVectorQuantizer {
  readonly method: TurboMethod;
  readonly dim: number;
  readonly bits: number;
  quantize(x: ArrayLike<number>): Float64Array;
  /** Stored bytes of one vector. */
  readonly bytesPerVector: number;
}

export interface TurboBuildOptions {
  rotation?: RotationConfig | Rotation;
  codebook?: 'sphere' | 'gaussian';
  qjlSeed?: number;
  normDtype?: NormDtype;
}

export function createTurboQuantizer(dim: number, config: TurboTensorConfig, options: TurboBuildOptions = {}): TurboVectorQuantizer {
  const normBits = normBitsOf(options.normDtype ?? 'float16');
  if (config.method === 'mse') {
    const q = new TurboQuantMse(dim, { bits: config.bits, ...options });
    const cost = turboVectorCost({ method: 'mse', bits: config.bits, dim, rotatedDim: q.rotation.outputDim, normBits });
    return { method: 'mse', dim, bits: config.bits, bytesPerVector: cost.bytes, quantize: (x) => q.quantize(x) };
  }
  const q = new TurboQuantProd(dim, { bits: config.bits, ...options });
  const rotated = q.mse ? q.mse.rotation.outputDim : dim;
  const cost = turboVectorCost({ method: 'prod', bits: config.bits, dim, rotatedDim: rotated, normBits });
  return { method: 'prod', dim, bits: config.bits, bytesPerVector: cost.bytes, quantize: (x) => q.quantize(x) };
}

/** Quantizers for keys and values of one scheme (same rotation seed for both unless overridden). */
export function createTurboKvQuantizers(
  dim: number,
  scheme: TurboScheme,
  bits: number,
  options: TurboBuildOptions = {},
): { key: TurboVectorQuantizer; value: TurboVectorQuantizer; config: TurboSchemeConfig } {
  const config = turboScheme(scheme, bits);
  return { key: createTurboQuantizer(dim, config.key, options), value: createTurboQuantizer(dim, config.value, options), config };
}
