// Validation of a CachePolicy (and the session options next to it): every error names its field.
import { quantizerConfig, TURBO_SCHEMES, type KvQuantConfig } from '@kvbench/quant';
import type { CachePolicy } from '../evaluation';
import { CachePolicyError } from '../cache-policy-error';
import { GRAPH_DTYPES, type GraphDtype } from '../graph';

export { CachePolicyError };

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
  if (policy.quant === null) {
    for (const field of ['rotation', 'turbo', 'layers', 'budget'] as const) {
      if (policy[field]) throw new CachePolicyError(`cache.${field}`, 'needs a quantized cache (cache.quant is null: full precision)');
    }
    return { ...policy };
  }
  if (typeof policy.quant !== 'object') throw new CachePolicyError('cache.quant', 'must be a KvQuantConfig or null');
  const quant = checkedQuant(policy.quant, 'cache.quant');
  const layers = policy.layers ? policy.layers.map((l, i) => checkedQuant(l, `cache.layers[${i}]`)) : null;
  checkOptions(policy);
  for (const kind of ['key', 'value'] as const) {
    if (policy.turbo) break; // TurboQuant codes whole head vectors: the grouped layout fields do not apply
    const axis = quant[kind].axis;
    if ((axis === 'quanto-per-channel' || axis === 'hqq-per-channel') && policy.residualMode !== 'requantize') {
      throw new CachePolicyError(
        `cache.quant.${kind}.axis`,
        `${axis} groups span the whole cache, so it needs cache.residualMode 'requantize' (got '${policy.residualMode}'); use per-token or per-channel with 'append'`,
      );
    }
  }
  return { ...policy, quant, ...(layers ? { layers } : {}) };
}

function checkedQuant(input: KvQuantConfig, prefix: string): KvQuantConfig {
  if (!input || typeof input !== 'object') throw new CachePolicyError(prefix, 'must be a KvQuantConfig');
  try {
    return { key: quantizerConfig(input.key ?? {}, `${prefix}.key`), value: quantizerConfig(input.value ?? {}, `${prefix}.value`) };
  } catch (error) {
    const field = (error as { field?: string }).field ?? prefix;
    throw new CachePolicyError(field, (error as Error).message.replace(`${field}: `, ''));
  }
}

const seedOk = (seed: unknown) => Number.isInteger(seed) && (seed as number) >= 0;

/** rotation, turbo and budget: shapes and allowed values (the model-dependent checks come with the codecs). */
function checkOptions(policy: CachePolicy): void {
  const { rotation, turbo, budget } = policy;
  if (rotation) {
    if (rotation.kind !== 'hadamard') throw new CachePolicyError('cache.rotation.kind', `got ${JSON.stringify(rotation.kind)}, allowed: hadamard`);
    if (!seedOk(rotation.seed)) throw new CachePolicyError('cache.rotation.seed', `got ${JSON.stringify(rotation.seed)}, allowed: an integer >= 0`);
  }
  if (turbo) {
    if (!TURBO_SCHEMES.includes(turbo.scheme)) throw new CachePolicyError('cache.turbo.scheme', `got ${JSON.stringify(turbo.scheme)}, allowed: ${TURBO_SCHEMES.join(', ')}`);
    if (!seedOk(turbo.seed)) throw new CachePolicyError('cache.turbo.seed', `got ${JSON.stringify(turbo.seed)}, allowed: an integer >= 0`);
    if (rotation) throw new CachePolicyError('cache.rotation', 'TurboQuant rotates by itself; a rotation applies to the grouped quantizers only');
    if (budget) throw new CachePolicyError('cache.budget', 'the budget allocates grouped quantizers; it does not combine with TurboQuant');
  }
  if (budget) {
    if (!Array.isArray(budget.bitRange) || budget.bitRange.length === 0) throw new CachePolicyError('cache.budget.bitRange', 'must list at least one width');
    budget.bitRange.forEach((b, i) => {
      if (!((Number.isInteger(b) && b >= 1 && b <= 8) || b === 1.58)) throw new CachePolicyError(`cache.budget.bitRange[${i}]`, `got ${b}, allowed: integers 1..8 or 1.58`);
    });
    const lo = Math.min(...budget.bitRange);
    const hi = Math.max(...budget.bitRange);
    if (!(Number.isFinite(budget.bits) && budget.bits >= lo && budget.bits <= hi)) {
      throw new CachePolicyError('cache.budget.bits', `got ${budget.bits}, allowed: a number within the bit range [${lo}, ${hi}]`);
    }
    if (budget.score !== 'frobenius' && budget.score !== 'spectral') throw new CachePolicyError('cache.budget.score', `got ${JSON.stringify(budget.score)}, allowed: frobenius, spectral`);
    if (budget.source !== 'weights' && budget.source !== 'cache') throw new CachePolicyError('cache.budget.source', `got ${JSON.stringify(budget.source)}, allowed: weights, cache`);
    const g = budget.groupBudget;
    if (g !== null && g !== undefined && !(Number.isInteger(g) && g >= 1)) throw new CachePolicyError('cache.budget.groupBudget', `got ${g}, allowed: a positive integer or null`);
  }
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
