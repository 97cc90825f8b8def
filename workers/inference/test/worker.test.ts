import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModel, getRun, getRunDetail, listBenchmarks, markRunning, newRunRow, openTestPostgres, upsertRun, type DbHandle } from '@kvbench/db';
import { canonicalRun } from '@kvbench/protocol';
import { evaluate } from '@kvbench/engine';
import { UnrecoverableError, Worker } from 'bullmq';
import { classifyFailure, reconcileQueue, RunQueues, startInferenceWorker, type InferenceWorker } from '../src/index';
import { dropQueues, sleep, submitRun, uniquePrefix, waitFor, waitForStatus } from './harness';

let db: DbHandle;
let queues: RunQueues;
const prefix = uniquePrefix();

beforeAll(async () => {
  db = await openTestPostgres();
  queues = new RunQueues({ prefix });
});
afterAll(async () => {
  await dropQueues(queues, prefix);
  await db?.close();
});

const submit = (input: Record<string, unknown>) => submitRun(db.db, queues, input);

const small = { model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, residualLength: 16, prompt: 16, maxTokens: 48, limit: 2 };

describe('classifyFailure', () => {
  it('separates config, OOM, cancellation and transient faults', () => {
    expect(classifyFailure(new Error('cache.quant.key.bits: got 9'))).toBe('config');
    expect(classifyFailure(Object.assign(new Error('x'), { name: 'ModelNotAvailableError' }))).toBe('config');
    expect(classifyFailure(new Error('CUDA failure 2: out of memory'))).toBe('oom');
    expect(classifyFailure(new Error('std::bad_alloc'))).toBe('oom');
    expect(classifyFailure(new DOMException('aborted', 'AbortError'))).toBe('cancelled');
    expect(classifyFailure(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toBe('transient');
    expect(classifyFailure(new Error('evaluation worker exited with code 1 before finishing'))).toBe('transient');
  });
});

describe('inference worker (in process, real engine)', () => {
  let w: InferenceWorker;
  let calls = 0;
  let failNext: Error | null = null;
  beforeAll(async () => {
    w = await startInferenceWorker({
      db: db.db,
      deviceClass: 'cpu',
      prefix,
      reconcileIntervalMs: 0,
      progressIntervalMs: 0,
      log: () => {},
      // The real engine; a test may arm one injected fault for the next call.
      evaluate: async (opts, controls) => {
        calls++;
        if (failNext) {
          const e = failNext;
          failNext = null;
          throw e;
        }
        return evaluate(opts, controls);
      },
    });
  });
  afterAll(async () => w?.drain());

  it('runs a job end to end: progress, metrics, samples, provenance', async () => {
    const run = await submit(small);
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, providerUsed: 'cpu', primaryMetric: 'perplexity', itemsDone: 2, itemsTotal: 2 });
    expect(done.primaryValue).toBeGreaterThan(1);
    expect(done.kvBytesPerToken).toBeGreaterThan(0);
    expect(done.ratioToFp16).toBeLessThan(1);
    expect(done.versions).toMatchObject({ deviceClass: 'cpu', onnxruntime: expect.any(String), bullmq: expect.stringMatching(/^5\./) });
    expect(await getModel(db.db, 'stories260k')).toMatchObject({ family: 'llama2c', layers: 5, kvHeads: 4, headDim: 8, weightsHash: done.weightsHash });
    expect((await listBenchmarks(db.db)).map((b) => b.name)).toEqual(['tinystories']);
    const detail = await getRunDetail(db.db, run.id);
    expect(detail!.metrics.map((m) => m.name)).toContain('kl');
    expect(detail!.samples.length).toBe(2);
    const job = await queues.queue('cpu').getJob(run.hash);
    expect(await job!.getState()).toBe('completed');
  });

  it('marks a bad config unrecoverable with the reason, without retrying', async () => {
    const run = await submit({ ...small, model: '/nonexistent/model.bin' });
    const failed = await waitForStatus(db.db, run.id, ['failed', 'succeeded']);
    expect(failed).toMatchObject({ status: 'failed', errorKind: 'config', attempts: 1 });
    expect(failed.error).toMatch(/bad config: model: \/nonexistent\/model.bin does not exist/);
    const job = await queues.queue('cpu').getJob(run.hash);
    await waitFor('job failed', async () => (await job!.getState()) === 'failed');
    expect((await queues.queue('cpu').getJob(run.hash))!.attemptsMade).toBe(1);
  });

  it('marks out-of-memory unrecoverable', async () => {
    failNext = new Error('Failed to allocate memory for requested buffer of size 123456789 (out of memory)');
    const run = await submit({ ...small, keyBits: 3 });
    const failed = await waitForStatus(db.db, run.id, ['failed', 'succeeded']);
    expect(failed).toMatchObject({ status: 'failed', errorKind: 'oom' });
    expect(failed.error).toMatch(/^out of memory: /);
  });

  it('retries a transient fault with backoff, then succeeds', async () => {
    failNext = new Error('socket hang up');
    const run = await submit({ ...small, keyBits: 5 });
    const job = await waitFor('job delayed for retry', async () => {
      const j = await queues.queue('cpu').getJob(run.hash);
      return j && (await j.getState()) === 'delayed' ? j : undefined;
    });
    const row = await getRunDetail(db.db, run.id);
    expect(row!.run).toMatchObject({ status: 'queued', errorKind: 'transient' });
    expect(row!.run.error).toMatch(/retrying after: socket hang up/);
    await job.promote(); // skip the 5 s backoff
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, error: null });
  });

  it('cancels a running job through the abort flag', async () => {
    const run = await submit({ ...small, keyBits: 6, limit: 200, maxTokens: 128 });
    await waitFor('progress', async () => ((await getRunDetail(db.db, run.id))!.run.itemsDone ?? 0) >= 1, 60_000, 50);
    expect(await queues.cancel('cpu', run.hash)).toBe('signalled');
    const c = await waitForStatus(db.db, run.id, ['cancelled', 'succeeded', 'failed'], 20_000);
    expect(c.status).toBe('cancelled');
  });

  it('skips a job whose run already succeeded (a duplicate delivery writes nothing)', async () => {
    const run = await submit({ ...small, keyBits: 7 });
    await waitForStatus(db.db, run.id, ['succeeded']);
    const before = calls;
    await (await queues.queue('cpu').getJob(run.hash))!.remove();
    await queues.enqueue([{ runId: run.id, hash: run.hash, deviceClass: 'cpu' }]);
    await waitFor('job completed', async () => (await (await queues.queue('cpu').getJob(run.hash))?.getState()) === 'completed');
    await sleep(50);
    expect(calls).toBe(before);
  });
});

describe('reconcileQueue', () => {
  it('re-adds jobs for queued rows without one, and fails rows whose job the queue gave up on', async () => {
    const p = uniquePrefix();
    const q = new RunQueues({ prefix: p });
    try {
      const lost = await upsertRun(db.db, newRunRow(canonicalRun({ ...small, seed: 77 }).config, canonicalRun({ ...small, seed: 77 }).hash, 'cpu'));
      const stalled = await upsertRun(db.db, newRunRow(canonicalRun({ ...small, seed: 78 }).config, canonicalRun({ ...small, seed: 78 }).hash, 'cpu'));
      await markRunning(db.db, stalled.run.id, 'dead-worker');
      // A job BullMQ failed by itself (as after too many stalls), while the row still says running.
      await q.enqueue([{ runId: stalled.run.id, hash: stalled.run.hash, deviceClass: 'cpu' }]);
      const failer = new Worker('cpu', async () => { throw new UnrecoverableError('job stalled more than allowable limit'); }, { connection: q.connection.duplicate({ maxRetriesPerRequest: null }), prefix: p });
      await waitFor('job failed', async () => (await (await q.queue('cpu').getJob(stalled.run.hash))?.getState()) === 'failed', 60_000);
      await failer.close();
      const added = await reconcileQueue(db.db, q, 'cpu');
      expect(added).toBe(1);
      expect(await q.queue('cpu').getJob(lost.run.hash)).toBeTruthy();
      const s = await getRun(db.db, stalled.run.id);
      expect(s).toMatchObject({ status: 'failed', errorKind: 'stalled' });
      expect(s!.error).toMatch(/the queue gave up on the job: job stalled more than allowable limit/);
    } finally {
      await dropQueues(q, p);
    }
  });
});
