// An analyze run through the real queue, an in-process worker (analysis in a worker thread) and
// Postgres: per-layer rows in layer_stats, model-level counts in run_metrics, kept off the leaderboard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRunDetail, leaderboard, listBenchmarks, openTestPostgres, type DbHandle } from '@kvbench/db';
import { RunQueues, startInferenceWorker, type InferenceWorker } from '../src/index';
import { dropQueues, submitRun, uniquePrefix, waitForStatus } from './harness';

let db: DbHandle;
let queues: RunQueues;
let worker: InferenceWorker;
const prefix = uniquePrefix();

beforeAll(async () => {
  db = await openTestPostgres();
  queues = new RunQueues({ prefix });
  worker = await startInferenceWorker({ db: db.db, deviceClass: 'cpu', prefix, reconcileIntervalMs: 0, progressIntervalMs: 0, log: () => {} });
});
afterAll(async () => {
  await worker?.drain();
  await dropQueues(queues, prefix);
  await db?.close();
});

const submit = (input: Record<string, unknown>) => submitRun(db.db, queues, input);

describe('analyze jobs', () => {
  it('stores norms and spectra per layer and tensor, and the K > V counts', async () => {
    const run = await submit({ model: 'stories260k', benchmark: 'tinystories', protocol: 'analyze', keyBits: 4, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, limit: 3, maxTokens: 40 });
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed'], 60_000);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', protocol: 'analyze', primaryMetric: 'layersKgtV.frobenius', primaryValue: 5, itemsDone: 3 });
    const detail = (await getRunDetail(db.db, run.id))!;
    const metric = (name: string) => detail.metrics.find((m) => m.name === name)?.value;
    expect(metric('layersKgtV.frobenius')).toBe(5);
    expect(metric('layersKgtV.spectral')).toBe(5);
    expect(metric('layersKgtV.cache.frobenius')).toBe(5);
    expect(metric('documents')).toBe(3);
    expect(metric('attn.klMean')).toBeGreaterThan(0);
    const stat = (layer: number, tensor: 'k' | 'v', name: string) => detail.layerStats.find((s) => s.layer === layer && s.tensor === tensor && s.metric === name)?.value;
    expect(stat(0, 'k', 'wk.frobenius')).toBeCloseTo(10.240015, 5);
    expect(stat(0, 'v', 'wv.frobenius')).toBeCloseTo(2.0903, 5);
    expect(stat(4, 'k', 'wk.spectral')).toBeCloseTo(4.888347, 5);
    for (let l = 0; l < 5; l++) {
      expect(stat(l, 'k', 'k.frobenius')!).toBeGreaterThan(stat(l, 'v', 'v.frobenius')!);
      expect(stat(l, 'k', 'k.sv.0')).toBeCloseTo(stat(l, 'k', 'k.spectral')!, 9);
      expect(stat(l, 'k', 'k.headsv.mean.0')).toBeGreaterThan(0);
      expect(stat(l, 'k', 'attn.klMean')).toBeGreaterThan(0);
      expect(stat(l, 'v', 'relError')).toBeGreaterThan(0);
    }
    expect(detail.layerStats.filter((s) => s.layer === 2 && s.tensor === 'v' && /^v\.sv\.\d+$/.test(s.metric))).toHaveLength(32);
    // Not a benchmark result: off the leaderboard (unless asked for), and the benchmark row untouched.
    expect((await leaderboard(db.db, {})).rows.map((r) => r.id)).not.toContain(run.id);
    expect((await leaderboard(db.db, { protocol: 'analyze' })).rows.map((r) => r.id)).toContain(run.id);
    expect((await listBenchmarks(db.db)).find((b) => b.name === 'tinystories')).toBeUndefined();
  }, 90_000);
});
