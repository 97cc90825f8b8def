// The engine's EvalResult -> the rows the database stores.
import type { EvalResult } from '@kvbench/engine';
import { ALLOCATION_LAYER_METRICS, ALLOCATION_RUN_METRICS, type RunResultInput } from '@kvbench/db';
import { findModel, shapeOf, type RunConfig } from '@kvbench/protocol';

const STDERR_OF: Record<string, string> = { accuracy: 'accuracyStderr', accuracyNorm: 'accuracyNormStderr', nllDelta: 'nllDeltaStderr' };
const IS_STDERR = new Set(Object.values(STDERR_OF));

/** The headline metric per protocol (lm-eval's acc for the accuracy tasks, perplexity for ppl-decode). */
export function primaryMetric(protocol: string): string {
  if (protocol === 'analyze') return 'layersKgtV.frobenius'; // layers where |W_K|_F > |W_V|_F
  return protocol === 'ppl-decode' ? 'perplexity' : 'accuracy';
}

type Allocation = NonNullable<EvalResult['allocation']>;
type LayerRow = RunResultInput['layerStats'][number];

/** Budget mode: the allocation's run-level figures, stored as run_metrics rows under these names. */
export const ALLOCATION_METRICS = ALLOCATION_RUN_METRICS satisfies Partial<Record<keyof Allocation, string>>;

/**
 * Budget mode: the allocation as rows. Per layer (layer_stats): alloc.bits, alloc.groupSize and
 * alloc.sensitivity for k and v; per run (run_metrics): the ALLOCATION_METRICS. The budget, range, score,
 * source and group budget are the run's config; nothing else is needed to show the allocation again.
 */
export function allocationRows(a: Allocation): { metrics: RunResultInput['metrics']; layerStats: LayerRow[] } {
  const layerStats: LayerRow[] = [];
  const per = (metric: string, k: number[], v: number[]) => {
    k.forEach((value, layer) => layerStats.push({ layer, tensor: 'k', metric, value }));
    v.forEach((value, layer) => layerStats.push({ layer, tensor: 'v', metric, value }));
  };
  per(ALLOCATION_LAYER_METRICS.bits, a.keyBits, a.valueBits);
  per(ALLOCATION_LAYER_METRICS.groupSize, a.keyGroupSizes, a.valueGroupSizes);
  per(ALLOCATION_LAYER_METRICS.sensitivity, a.keySensitivities, a.valueSensitivities);
  const metrics = Object.entries(ALLOCATION_METRICS).map(([field, name]) => ({ name, value: a[field as keyof typeof ALLOCATION_METRICS], stderr: null }));
  return { metrics, layerStats };
}

/** The engine's layer statistics plus the allocation's rows; where both give a (layer, tensor, metric) the allocation's wins. */
function layerRows(r: EvalResult, alloc: LayerRow[]): LayerRow[] {
  const key = (l: LayerRow) => `${l.layer}|${l.tensor}|${l.metric}`;
  const fromAllocation = new Set(alloc.map(key));
  const engine = r.layerStats.map((l) => ({ layer: l.layer, tensor: l.tensor, metric: l.metric, value: l.value })).filter((l) => !fromAllocation.has(key(l)));
  return [...engine, ...alloc];
}

export function resultRows(r: EvalResult, config: RunConfig, extraVersions: Record<string, string> = {}): RunResultInput {
  const protocol = config.protocol;
  const shape = shapeOf(config);
  const m = r.metrics as Record<string, number | undefined>;
  const metrics: RunResultInput['metrics'] = [];
  for (const [name, value] of Object.entries(m)) {
    if (typeof value !== 'number' || IS_STDERR.has(name)) continue;
    const se = STDERR_OF[name] ? m[STDERR_OF[name]] : undefined;
    metrics.push({ name, value, stderr: typeof se === 'number' ? se : null });
  }
  const allocation = r.allocation ? allocationRows(r.allocation) : null;
  if (allocation) metrics.push(...allocation.metrics);
  const pName = primaryMetric(protocol);
  const p = metrics.find((x) => x.name === pName);
  return {
    metrics,
    primary: p ? { name: p.name, value: p.value, stderr: p.stderr ?? null } : null,
    layerStats: layerRows(r, allocation?.layerStats ?? []),
    samples: r.samples.map((s) => ({ index: s.index, prompt: s.prompt, output: s.output ?? null, reference: s.reference ?? null, correct: s.correct ?? null, nll: s.nll ?? null })),
    kvBytesPerToken: r.memory.kvBytesPerToken,
    fp16BytesPerToken: r.memory.fp16BytesPerToken,
    ratioToFp16: r.memory.ratioToFp16,
    peakRssBytes: r.memory.peakRssBytes,
    tokensPerSecond: r.speed.tokensPerSecond,
    wallSeconds: r.speed.wallSeconds,
    providerUsed: r.provider,
    device: r.device,
    versions: { ...r.versions, ...extraVersions },
    modelArchitecture: r.model.architecture,
    weightsHash: r.model.weightsHash,
    dataHash: r.benchmark.dataHash,
    benchmarkItems: r.benchmark.items,
    nonFinite: r.nonFinite,
    model: {
      name: config.model,
      family: findModel(config.model)?.family ?? null,
      architecture: r.model.architecture,
      layers: shape?.layers ?? null,
      kvHeads: shape?.kvHeads ?? null,
      headDim: shape?.headDim ?? null,
      params: shape?.params ?? null,
      weightsHash: r.model.weightsHash,
    },
    // An analyze run reads a benchmark's documents but does not define the benchmark's protocol or size.
    benchmark: protocol === 'analyze' ? undefined : { name: config.benchmark, protocol: config.protocol, format: config.format, dataHash: r.benchmark.dataHash, items: r.benchmark.items },
  };
}
