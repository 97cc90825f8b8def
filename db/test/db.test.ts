import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalRun, expandSweep, planMemory } from '@kvbench/protocol';
import {
  createSweep,
  getRunDetail,
  getSweep,
  leaderboard,
  markRunning,
  newRunRow,
  openTestPglite,
  openTestPostgres,
  previewSweep,
  requestCancel,
  runStatusCounts,
  upsertRun,
  writeRunResult,
  type DbHandle,
  type RunResultInput,
} from '../src/index';

const result = (value: number): RunResultInput => ({
  metrics: [
    { name: 'perplexity', value, stderr: null },
    { name: 'kl', value: 0.01, stderr: 0.001 },
  ],
  primary: { name: 'perplexity', value, stderr: null },
  layerStats: [
    { layer: 0, tensor: 'k', metric: 'relError', value: 0.1 },
    { layer: 0, tensor: 'v', metric: 'relError', value: 0.2 },
  ],
  samples: [{ index: 0, prompt: 'Once upon a time', output: ' there', nll: 1.5 }],
  kvBytesPerToken: 100,
  fp16BytesPerToken: 640,
  ratioToFp16: 100 / 640,
  peakRssBytes: 1e8,
  tokensPerSecond: 1000,
  wallSeconds: 2,
  providerUsed: 'cpu',
  device: 'test-cpu',
  versions: { kvbench: '0.1.0' },
  modelArchitecture: 'llama',
  weightsHash: 'w',
  dataHash: 'd',
  benchmarkItems: 10,
  nonFinite: 0,
});

function rowFor(input: Record<string, unknown>) {
  const { config, hash } = canonicalRun(input);
  return newRunRow(config, hash, planMemory(config).deviceClass);
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`db on ${kind}`, () => {
    let h: DbHandle;
    beforeAll(async () => {
      h = kind === 'postgres' ? await openTestPostgres() : await openTestPglite();
    });
    afterAll(async () => h?.close());

    it('upserts by hash: 50 concurrent identical submissions make one run', async () => {
      const input = { model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2, limit: 3 };
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => upsertRun(h.db, rowFor(i % 2 ? input : Object.fromEntries(Object.entries(input).reverse())))));
      expect(new Set(results.map((r) => r.run.id)).size).toBe(1);
      expect(results.filter((r) => r.created).length).toBe(1);
      expect((await runStatusCounts(h.db)).queued).toBe(1);
    });

    it('stores SQL metacharacters and HTML in model names verbatim', async () => {
      const model = `Robert'); DROP TABLE runs;-- <script>alert("x")</script> \\ % _ $1`;
      const { run } = await upsertRun(h.db, rowFor({ model, modelShape: { layers: 1, kvHeads: 1, headDim: 8, params: 1000 }, benchmark: 'tinystories', keyBits: 2, valueBits: 2 }));
      const detail = await getRunDetail(h.db, run.id);
      expect(detail!.run.model).toBe(model);
      expect((detail!.run.config as { model: string }).model).toBe(model);
    });

    it('writes results in one transaction, once, and the leaderboard reads them', async () => {
      const { run } = await upsertRun(h.db, rowFor({ model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 4, limit: 3 }));
      expect(await markRunning(h.db, run.id, 'w1')).toBeTruthy();
      expect(await writeRunResult(h.db, run.id, result(5.5))).toBe(true);
      // a second writer (a stalled job run again elsewhere) changes nothing
      expect(await writeRunResult(h.db, run.id, result(9.9))).toBe(false);
      expect(await markRunning(h.db, run.id, 'w2')).toBeUndefined();
      const detail = await getRunDetail(h.db, run.id);
      expect(detail!.run).toMatchObject({ status: 'succeeded', primaryValue: 5.5, attempts: 1, kvBytesPerToken: 100 });
      expect(detail!.metrics.map((m) => m.name)).toEqual(['kl', 'perplexity']);
      expect(detail!.layerStats.length).toBe(2);
      expect(detail!.samples.length).toBe(1);
      const board = await leaderboard(h.db, { model: 'stories260k', keyBits: 4, withMetrics: true });
      expect(board.total).toBe(1);
      expect(board.rows[0]).toMatchObject({ value: 5.5, metric: 'perplexity', keyBits: 4, valueBits: 4 });
      expect(board.rows[0].metrics.kl).toEqual({ value: 0.01, stderr: 0.001 });
      expect((await leaderboard(h.db, { model: 'stories260k', valueBits: 2 })).total).toBe(0);
      expect((await leaderboard(h.db, { backend: 'hqq' })).total).toBe(0);
      expect((await leaderboard(h.db, { backend: ['quanto', 'hqq'], sort: 'kvBytesPerToken', order: 'asc' })).total).toBe(1);
    });

    it('cancels a queued run at once', async () => {
      const { run } = await upsertRun(h.db, rowFor({ model: 'stories260k', benchmark: 'tinystories', keyBits: 3, valueBits: 3 }));
      expect((await requestCancel(h.db, run.id))!.status).toBe('cancelled');
      expect(await markRunning(h.db, run.id, 'w')).toBeUndefined();
    });

    it('creates sweeps idempotently, sharing cells with existing runs, and previews them', async () => {
      const spec = { name: 'demo', models: ['stories260k'], benchmarks: ['tinystories'], pairs: ['K4V4', 'K4V2', 'K2V4', 'K16V16'], base: { limit: 3 } };
      const e = expandSweep(spec);
      const before = await previewSweep(h.db, e);
      expect(before).toMatchObject({ cells: 4, alreadyDone: 1, inProgress: 1, toRun: 2 }); // K4V4 done, K4V2 queued above
      expect(before.models[0]).toMatchObject({ model: 'stories260k', deviceClass: 'cpu', measured: true });
      const a = await createSweep(h.db, e);
      const b = await createSweep(h.db, expandSweep(spec));
      expect(a.created).toBe(true);
      expect(b.created).toBe(false);
      expect(b.sweep.id).toBe(a.sweep.id);
      expect(a.newRuns.size).toBe(2);
      expect(b.newRuns.size).toBe(0);
      const s = await getSweep(h.db, a.sweep.id);
      expect(s!.cells.length).toBe(4);
      expect(s!.counts).toMatchObject({ succeeded: 1, queued: 3 });
    });
  });
}
