// Budget mode (issue 6 item 3): how a run's layer-wise allocation is stored, and read back for display.
// The worker writes it as rows of the tables every run has: per layer in layer_stats (k and v), per run
// in run_metrics; the budget, range, score, source and group budget are the run's canonical config.
import { runVariant } from '@kvbench/protocol';

/** layer_stats metrics of an allocation, one row per layer and tensor (k, v). */
export const ALLOCATION_LAYER_METRICS = { bits: 'alloc.bits', groupSize: 'alloc.groupSize', sensitivity: 'alloc.sensitivity' } as const;
/** run_metrics of an allocation: mean nominal bits, and stored bits per element as kvbench and as HQQ pack them. */
export const ALLOCATION_RUN_METRICS = {
  nominalBits: 'alloc.nominalBits',
  storedBitsPerElement: 'alloc.storedBitsPerElement',
  storedBitsPerElementHqq: 'alloc.storedBitsPerElementHqq',
} as const;

export interface StoredAllocation {
  budget: number;
  bitRange: number[];
  score: string;
  source: string;
  groupBudget: number | null;
  layers: {
    layer: number;
    keyBits: number | null;
    valueBits: number | null;
    keyGroupSize: number | null;
    valueGroupSize: number | null;
    keySensitivity: number | null;
    valueSensitivity: number | null;
  }[];
  nominalBits: number | null;
  storedBitsPerElement: number | null;
  storedBitsPerElementHqq: number | null;
}

/** The allocation of a budget run from its stored rows; null for a run that is not in budget mode. */
export function storedAllocation(
  config: unknown,
  metrics: readonly { name: string; value: number }[],
  layerStats: readonly { layer: number; tensor: 'k' | 'v'; metric: string; value: number }[],
): StoredAllocation | null {
  const v = runVariant(config);
  if (v.budget === undefined) return null;
  const at = new Map(layerStats.filter((l) => l.metric.startsWith('alloc.')).map((l) => [`${l.layer}|${l.tensor}|${l.metric}`, l.value]));
  const layerIds = [...new Set(layerStats.filter((l) => l.metric.startsWith('alloc.')).map((l) => l.layer))].sort((a, b) => a - b);
  const get = (layer: number, tensor: 'k' | 'v', metric: string) => at.get(`${layer}|${tensor}|${metric}`) ?? null;
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? null;
  const L = ALLOCATION_LAYER_METRICS;
  return {
    budget: v.budget,
    bitRange: v.bitRange ?? [],
    score: v.budgetScore ?? 'spectral',
    source: v.budgetSource ?? 'weights',
    groupBudget: v.groupBudget ?? null,
    layers: layerIds.map((layer) => ({
      layer,
      keyBits: get(layer, 'k', L.bits),
      valueBits: get(layer, 'v', L.bits),
      keyGroupSize: get(layer, 'k', L.groupSize),
      valueGroupSize: get(layer, 'v', L.groupSize),
      keySensitivity: get(layer, 'k', L.sensitivity),
      valueSensitivity: get(layer, 'v', L.sensitivity),
    })),
    nominalBits: metric(ALLOCATION_RUN_METRICS.nominalBits),
    storedBitsPerElement: metric(ALLOCATION_RUN_METRICS.storedBitsPerElement),
    storedBitsPerElementHqq: metric(ALLOCATION_RUN_METRICS.storedBitsPerElementHqq),
  };
}
