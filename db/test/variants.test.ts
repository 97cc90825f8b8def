// Issue 6 items 3-4 in storage, on Postgres and on PGlite: a budget run's allocation round-trips through
// layer_stats and run_metrics; leaderboard rows and sweep cells carry the config variant and runLabel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalRun, expandSweep, planMemory } from '@kvbench/protocol';
import {
  ALLOCATION_LAYER_METRICS,
  ALLOCATION_RUN_METRICS,
  createSweep,
  getRunDetail,
  getSweep,
  leaderboard,
  markRunning,
  newRunRow,
  openTestPglite,
  openTestPostgres,
  planCells,
  storedAllocation,
  upsertRun,
  writeRunResult,
  type DbHandle,
  type RunResultInput,
} from '../src/index';

const small = { model: 'stories260k', benchmark: 'tinystories', limit: 3 };
const keyBits = [4, 6, 2];
const valueBits = [2, 1.58, 2];

function result(value: number, allocation: boolean): RunResultInput {
  const layerStats: RunResultInput['layerStats'] = [
    { layer: 0, tensor: 'k', metric: 'attn.klMean', value: 0.02 },
    { layer: 1, tensor: 'k', metric: 'attn.klMean', value: 0.05 },
  ];
  const metrics: RunResultInput['metrics'] = [{ name: 'perplexity', value, stderr: null }];
  if (allocation) {
    keyBits.forEach((b, layer) => layerStats.push({ layer, tensor: 'k', metric: ALLOCATION_LAYER_METRICS.bits, value: b }));
    valueBits.forEach((b, layer) => layerStats.push({ layer, tensor: 'v', metric: ALLOCATION_LAYER_METRICS.bits, value: b }));
    for (const layer of [0, 1, 2]) {
      layerStats.push({ layer, tensor: 'k', metric: ALLOCATION_LAYER_METRICS.groupSize, value: 32 });
      layerStats.push({ layer, tensor: 'v', metric: ALLOCATION_LAYER_METRICS.groupSize, value: 128 });
      layerStats.push({ layer, tensor: 'k', metric: ALLOCATION_LAYER_METRICS.sensitivity, value: 3 - layer });
      layerStats.push({ layer, tensor: 'v', metric: ALLOCATION_LAYER_METRICS.sensitivity, value: 1 + layer / 10 });
    }
    metrics.push({ name: ALLOCATION_RUN_METRICS.nominalBits, value: 2.93 }, { name: ALLOCATION_RUN_METRICS.storedBitsPerElement, value: 3.5 }, { name: ALLOCATION_RUN_METRICS.storedBitsPerElementHqq, value: 4.1 });
  }
  return {
    metrics,
    primary: { name: 'perplexity', value, stderr: null },
    layerStats,
    samples: [],
    kvBytesPerToken: 100,
    fp16BytesPerToken: 640,
    ratioToFp16: 100 / 640,
    peakRssBytes: 1e8,
    tokensPerSecond: 1000,
    wallSeconds: 2,
    providerUsed: 'cpu',
    device: 'test-cpu',
    versions: {},
    modelArchitecture: 'llama',
    weightsHash: 'w',
    dataHash: 'd',
    benchmarkItems: 3,
    nonFinite: 0,
  };
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`variants on ${kind}`, () => {
    let h: DbHandle;
    beforeAll(async () => {
      h = kind === 'postgres' ? await openTestPostgres() : await openTestPglite();
    });
    afterAll(async () => h?.close());

    async function finished(input: Record<string, unknown>, value: number, allocation = false) {
      const { config, hash } = canonicalRun(input);
      const { run } = await upsertRun(h.db, newRunRow(config, hash, planMemory(config).deviceClass));
      await markRunning(h.db, run.id, 'w1');
      expect(await writeRunResult(h.db, run.id, result(value, allocation))).toBe(true);
      return run;
    }

    it('a budget run: the allocation is read back from layer_stats, run_metrics and the config', async () => {
      const run = await finished({ ...small, budget: 3, budgetScore: 'frobenius', groupBudget: 64 }, 9.5, true);
      const detail = (await getRunDetail(h.db, run.id))!;
      expect(detail.run).toMatchObject({ keyBits: 3, valueBits: 3, keyGroupSize: null, backend: 'quanto' });
      const a = storedAllocation(detail.run.config, detail.metrics, detail.layerStats)!;
      expect(a).toMatchObject({ budget: 3, bitRange: [1, 1.58, 2, 4, 6, 8], score: 'frobenius', source: 'weights', groupBudget: 64, nominalBits: 2.93, storedBitsPerElement: 3.5, storedBitsPerElementHqq: 4.1 });
      expect(a.layers.map((l) => [l.keyBits, l.valueBits])).toEqual([[4, 2], [6, 1.58], [2, 2]]);
      expect(a.layers.map((l) => [l.keyGroupSize, l.valueGroupSize])).toEqual([[32, 128], [32, 128], [32, 128]]);
      expect(a.layers.map((l) => l.keySensitivity)).toEqual([3, 2, 1]);
      // a plain run has no allocation, even with alloc-like rows absent
      const plain = await finished({ ...small, keyBits: 4, valueBits: 2 }, 9.9);
      const p = (await getRunDetail(h.db, plain.id))!;
      expect(storedAllocation(p.run.config, p.metrics, p.layerStats)).toBeNull();
    });

    it('leaderboard rows carry the variant and the label; turbo is a backend filter and search word', async () => {
      await finished({ ...small, keyBits: 4, valueBits: 2, rotation: 'hadamard' }, 9.7);
      await finished({ ...small, keyBits: 3, valueBits: 3, backend: 'turbo', turboScheme: 'KV' }, 9.8);
      const board = await leaderboard(h.db, { model: 'stories260k', pageSize: 50 });
      const labels = board.rows.map((r) => r.label).sort();
      expect(labels).toEqual(['K4V2', 'K4V2 WHT', 'TQ-KV 3b', 'budget 3 (frobenius, G64)']);
      const wht = board.rows.find((r) => r.label === 'K4V2 WHT')!;
      expect(wht.variant).toEqual({ rotation: 'hadamard' });
      expect(board.rows.find((r) => r.label === 'K4V2')!.variant).toEqual({});
      expect(board.rows.find((r) => r.label.startsWith('budget'))!.variant).toEqual({ budget: 3, bitRange: [1, 1.58, 2, 4, 6, 8], budgetScore: 'frobenius', budgetSource: 'weights', groupBudget: 64 });
      expect((await leaderboard(h.db, { backend: 'turbo' })).rows.map((r) => r.label)).toEqual(['TQ-KV 3b']);
      expect((await leaderboard(h.db, { search: 'turbo' })).rows.map((r) => r.label)).toEqual(['TQ-KV 3b']);
    });

    it('sweep cells carry the label', async () => {
      const expansion = expandSweep({ models: ['stories260k'], benchmarks: ['tinystories'], template: 'turbo', base: { limit: 2 } });
      const { sweep } = await createSweep(h.db, expansion, planCells(expansion));
      const view = (await getSweep(h.db, sweep.id))!;
      expect(view.cells.map((c) => c.label)).toEqual(['TQ-KV 2b', 'TQ-KV 3b', 'TQ-KV 4b', 'TQ-KQV 2b', 'TQ-KQV 3b', 'TQ-KQV 4b', 'TQ-QKQV 2b', 'TQ-QKQV 3b', 'TQ-QKQV 4b', 'K2V2', 'K3V3', 'K4V4']);
    });
  });
}
