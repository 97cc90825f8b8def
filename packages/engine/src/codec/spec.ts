// What each layer's keys and values are coded with, resolved from a CachePolicy: the run's uniform
// quantizers, or its per-layer ones (budget mode), optionally behind a Walsh-Hadamard rotation, or
// TurboQuant (method per kind from the scheme, bits from the quantizers). Plain data, so it can key graphs.
import { turboScheme, type KvQuantConfig, type QuantizerConfig, type TurboMethod } from '@kvbench/quant';
import { CachePolicyError } from '../cache-policy-error';
import type { CachePolicy, RotationOption } from '../evaluation';

export type CodecSpec =
  | { kind: 'grouped'; quantizer: QuantizerConfig; rotation: RotationOption | null }
  | { kind: 'turbo'; method: TurboMethod; bits: number; seed: number };

export interface LayerCodecSpecs {
  key: CodecSpec;
  value: CodecSpec;
}

/** One entry per layer; null for a full-precision cache. `layers` is the model's layer count. */
export function layerCodecSpecs(policy: CachePolicy, layers: number): LayerCodecSpecs[] | null {
  const quant = policy.quant;
  if (quant === null) return null;
  const perLayer = policy.layers ?? null;
  if (perLayer && perLayer.length !== layers) {
    throw new CachePolicyError('cache.layers', `has ${perLayer.length} per-layer quantizers, the model has ${layers} layers`);
  }
  if (policy.budget && !perLayer) {
    throw new CachePolicyError('cache.budget', 'is resolved into cache.layers before a session opens (evaluate() does it; see resolveCacheBudget)');
  }
  const at = (l: number): KvQuantConfig => (perLayer ? perLayer[l] : quant);
  if (policy.turbo) {
    const scheme = turboScheme(policy.turbo.scheme, quant.key.bits);
    const valueMethod = turboScheme(policy.turbo.scheme, quant.value.bits).value.method;
    const seed = policy.turbo.seed;
    return Array.from({ length: layers }, (_, l) => ({
      key: { kind: 'turbo', method: scheme.key.method, bits: at(l).key.bits, seed },
      value: { kind: 'turbo', method: valueMethod, bits: at(l).value.bits, seed },
    }));
  }
  const rotation = policy.rotation ?? null;
  return Array.from({ length: layers }, (_, l) => ({
    key: { kind: 'grouped', quantizer: at(l).key, rotation },
    value: { kind: 'grouped', quantizer: at(l).value, rotation },
  }));
}
