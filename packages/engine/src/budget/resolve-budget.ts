// Budget mode (quantizers.md §6.2-6.3): per-layer b_K, b_V (and group sizes) from the norm-aware
// allocators, with sensitivities measured on this model (weights, or the cache on a data sample), then
// the policy's per-layer quantizers. Runs before any session opens; the allocation is part of the result.
import { allocateBits, allocateGroupSizes, layerwiseStorage, metaBits, type KvQuantConfig } from '@kvbench/quant';
import type { LayerCacheSample } from '../analysis/cache-sample';
import { layerNormAnalyses, layerSensitivities, normVerdict } from '../analysis/norm-disparity';
import { CachePolicyError } from '../cache-policy-error';
import type { BudgetAllocation, CachePolicy, LayerStat } from '../evaluation';
import type { ModelConfig, ModelWeights } from '../model/config';

export interface ResolvedBudget {
  /** The policy with `layers` filled in (budget kept, for the record). */
  policy: CachePolicy;
  allocation: BudgetAllocation;
  /** alloc.bits, alloc.groupSize, alloc.sensitivity per layer and kind. */
  layerStats: LayerStat[];
}

/** Mean stored bits per element under a packing, or NaN where it cannot store a width (HQQ has no 7). */
function storedBits(input: Parameters<typeof layerwiseStorage>[0]): number {
  try {
    return layerwiseStorage(input).storedBitsPerElement;
  } catch {
    return NaN;
  }
}

/**
 * `cacheSample` (the float64 reference's cache over a few documents of the run's data, or null when there
 * are none) is read for source 'cache' only.
 */
export function resolveCacheBudget(policy: CachePolicy, config: ModelConfig, weights: ModelWeights, cacheSample: () => readonly LayerCacheSample[] | null): ResolvedBudget {
  const budget = policy.budget;
  const quant = policy.quant;
  if (!budget || !quant) throw new CachePolicyError('cache.budget', 'resolveCacheBudget needs a quantized policy with a budget');
  const sample = budget.source === 'cache' ? cacheSample() : null;
  if (budget.source === 'cache' && !sample) throw new CachePolicyError('cache.budget.source', "'cache' needs documents of at least 2 tokens from the run's data");
  const norms = layerNormAnalyses(config, weights, sample);
  const sens = layerSensitivities({ layers: norms, verdict: normVerdict(norms) }, budget.score, budget.source);
  let bits;
  try {
    bits = allocateBits({ keySensitivities: sens.key, valueSensitivities: sens.value, budget: budget.bits, bitRange: budget.bitRange });
  } catch (error) {
    throw new CachePolicyError('cache.budget', (error as Error).message);
  }
  const L = config.layers;
  let keyGroupSizes = new Array<number>(L).fill(quant.key.groupSize);
  let valueGroupSizes = new Array<number>(L).fill(quant.value.groupSize);
  if (budget.groupBudget !== null && budget.groupBudget !== undefined) {
    try {
      const groups = allocateGroupSizes({ keySensitivities: sens.key, valueSensitivities: sens.value, groupBudget: budget.groupBudget });
      keyGroupSizes = groups.keyGroupSizes;
      valueGroupSizes = groups.valueGroupSizes;
    } catch (error) {
      throw new CachePolicyError('cache.budget.groupBudget', (error as Error).message);
    }
  }
  const layers: KvQuantConfig[] = Array.from({ length: L }, (_, l) => ({
    key: { ...quant.key, bits: bits.keyBits[l], groupSize: keyGroupSizes[l] },
    value: { ...quant.value, bits: bits.valueBits[l], groupSize: valueGroupSizes[l] },
  }));
  const storage = {
    keyBits: bits.keyBits,
    valueBits: bits.valueBits,
    keyGroupSize: keyGroupSizes,
    valueGroupSize: valueGroupSizes,
    kvHeads: config.kvHeads,
    headDim: config.headDim,
    metaBitsPerGroup: 2 * metaBits(quant.key.metaDtype),
  };
  const allocation: BudgetAllocation = {
    budget: budget.bits,
    bitRange: [...budget.bitRange],
    score: budget.score,
    source: budget.source,
    groupBudget: budget.groupBudget ?? null,
    keyBits: bits.keyBits,
    valueBits: bits.valueBits,
    keyGroupSizes,
    valueGroupSizes,
    keySensitivities: sens.key,
    valueSensitivities: sens.value,
    nominalBits: layerwiseStorage({ ...storage, packing: 'dense' }).nominalBits,
    storedBitsPerElement: storedBits({ ...storage, packing: 'dense' }),
    storedBitsPerElementHqq: storedBits({ ...storage, packing: 'hqq' }),
  };
  const layerStats: LayerStat[] = [];
  for (let l = 0; l < L; l++) {
    for (const [tensor, b, g, s] of [
      ['k', bits.keyBits[l], keyGroupSizes[l], sens.key[l]],
      ['v', bits.valueBits[l], valueGroupSizes[l], sens.value[l]],
    ] as const) {
      layerStats.push({ layer: l, tensor, metric: 'alloc.bits', value: b }, { layer: l, tensor, metric: 'alloc.groupSize', value: g }, { layer: l, tensor, metric: 'alloc.sensitivity', value: s });
    }
  }
  return { policy: { ...policy, layers }, allocation, layerStats };
}
