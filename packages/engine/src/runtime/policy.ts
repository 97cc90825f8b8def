// Validation of a CachePolicy (and the session options next to it): every error names its field.
import { quantizerConfig, type KvQuantConfig } from '@kvbench/quant';
import type { CachePolicy } from '../evaluation';
import { GRAPH_DTYPES, type GraphDtype } from '../graph';

export class CachePolicyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'CachePolicyError';
  }
}

const PREFILL = ['quantize-all', 'keep-residual'] as const;
const RESIDUAL_MODES = ['append', 'requantize'] as const;
const MODES = ['packed', 'simulated'] as const;

function oneOf(field: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new CachePolicyError(field, `got ${JSON.stringify(value)}, allowed: ${allowed.join(', ')}`);
  }
}

/** Checks the policy and returns it with validated quantizer configs; throws CachePolicyError otherwise. */
export function validateCachePolicy(policy: CachePolicy): CachePolicy {
  if (!policy || typeof policy !== 'object') throw new CachePolicyError('cache', 'a CachePolicy object is required');
  const { residualLength } = policy;
  if (!Number.isInteger(residualLength) || residualLength < 0) {
    throw new CachePolicyError('cache.residualLength', `got ${residualLength}, allowed: an integer >= 0 (0 = quantize every token at once)`);
  }
  oneOf('cache.prefill', policy.prefill, PREFILL);
  oneOf('cache.residualMode', policy.residualMode, RESIDUAL_MODES);
  oneOf('cache.mode', policy.mode, MODES);
  if (policy.quant === null) return { ...policy };
  if (typeof policy.quant !== 'object') throw new CachePolicyError('cache.quant', 'must be a KvQuantConfig or null');
  let quant: KvQuantConfig;
  try {
    quant = { key: quantizerConfig(policy.quant.key ?? {}, 'cache.quant.key'), value: quantizerConfig(policy.quant.value ?? {}, 'cache.quant.value') };
  } catch (error) {
    const field = (error as { field?: string }).field ?? 'cache.quant';
    throw new CachePolicyError(field, (error as Error).message.replace(`${field}: `, ''));
  }
  for (const kind of ['key', 'value'] as const) {
    const axis = quant[kind].axis;
    if ((axis === 'quanto-per-channel' || axis === 'hqq-per-channel') && policy.residualMode !== 'requantize') {
      throw new CachePolicyError(
        `cache.quant.${kind}.axis`,
        `${axis} groups span the whole cache, so it needs cache.residualMode 'requantize' (got '${policy.residualMode}'); use per-token or per-channel with 'append'`,
      );
    }
  }
  return { ...policy, quant };
}

export function validateDtype(dtype: unknown): GraphDtype {
  if (!GRAPH_DTYPES.includes(dtype as GraphDtype)) {
    throw new CachePolicyError('dtype', `got ${JSON.stringify(dtype)}, allowed: ${GRAPH_DTYPES.join(', ')}`);
  }
  return dtype as GraphDtype;
}

/** The default policy of benchmarks.md with the given quantizer (null = full precision). */
export function defaultCachePolicy(quant: KvQuantConfig | null = null): CachePolicy {
  return { quant, residualLength: 128, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
}
