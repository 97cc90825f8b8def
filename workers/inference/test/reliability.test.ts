// Fault tests against real worker processes, real Redis, real Postgres and the real engine on
// stories260K: SIGKILL mid-job, SIGTERM drain, Redis restarted mid-sweep, Postgres gone for 10 s.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSweep, getRun, getRunDetail, openTestPostgres, resultRowCounts as counts, type DbHandle } from '@kvbench/db';
import { expandSweep } from '@kvbench/protocol';
import { RunQueues } from '../src/index';
import { CuttableProxy, PrivateRedis, dropQueues, freePort, sleep, spawnWorker, stopWorker, submitRun, uniquePrefix, waitFor, waitForStatus, type WorkerProcess } from './harness';

let db: DbHandle & { url: string };
const workers: WorkerProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await openTestPostgres();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const w of workers) console.log(`--- worker output\n${w.output()}`);
  await Promise.all(workers.splice(0).map(stopWorker));
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
afterAll(async () => db?.close());

/** A stories260K job of a few seconds on this machine. */
const job = (keyBits: number, limit = 8) => ({ model: 'stories260k', benchmark: 'tinystories', keyBits, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, residualLength: 16, prompt: 16, maxTokens: 64, limit });

async function setup(redisUrl?: string) {
  const prefix = uniquePrefix();
  const queues = new RunQueues({ prefix, redisUrl });
  cleanups.push(async () => {
    await dropQueues(queues, prefix);
  });
  const env = { DATABASE_URL: db.url, KVBENCH_QUEUE_PREFIX: prefix, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) };
  const startWorker = (extra: Record<string, string> = {}) => {
    const w = spawnWorker({ ...env, ...extra });
    workers.push(w);
    return w;
  };
  const submit = (input: Record<string, unknown>) => submitRun(db.db, queues, input);
  return { prefix, queues, startWorker, submit };
}

const resultRowCounts = (runId: string) => counts(db.db, runId);

const running = (runId: string, minItems = 1, timeoutMs = 60_000) =>
  waitFor(`run ${runId} in progress`, async () => {
    const r = await getRun(db.db, runId);
    return r && r.status === 'running' && (r.itemsDone ?? 0) >= minItems ? r : undefined;
  }, timeoutMs, 50);

describe('reliability (worker processes)', () => {
  it('a worker SIGKILLed mid-job leaves the job to another, which completes it with exactly one result', async () => {
    const { startWorker, submit } = await setup();
    const a = startWorker();
    const run = await submit(job(4, 10));
    const r = await running(run.id);
    a.child.kill('SIGKILL');
    expect(a.output()).toContain(run.id);
    // the second worker finds the job stalled once the dead worker's lock expires
    startWorker();
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed'], 90_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(2);
    expect(done.workerId).not.toBe(r.workerId);
    const rows = await resultRowCounts(run.id);
    expect(rows.runsWithHash).toBe(1);
    expect(rows.samples).toBe(done.benchmarkItems);
    const detail = await getRunDetail(db.db, run.id);
    expect(new Set(detail!.metrics.map((m) => m.name)).size).toBe(rows.metrics);
  });

  it('SIGTERM drains: the current job finishes, then the worker exits', async () => {
    const { startWorker, submit } = await setup();
    const w = startWorker();
    const run = await submit(job(3));
    await running(run.id);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect((await getRun(db.db, run.id))!).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(w.output()).toMatch(/SIGTERM: draining/);
  });

  for (const aof of [true, false]) {
    it(`Redis restarted during a sweep loses no job (${aof ? 'AOF on' : 'AOF off: rebuilt from Postgres'})`, async () => {
      const redis = new PrivateRedis(await freePort(), aof);
      await redis.start();
      cleanups.push(() => redis.dispose());
      const { queues, startWorker } = await setup(redis.url);
      const e = expandSweep({ models: ['stories260k'], benchmarks: ['tinystories'], pairs: ['K4V4', 'K4V2', 'K2V4', 'K16V16'], groupSizes: [8], residualLengths: [16], base: { prompt: 16, maxTokens: 40, limit: 2, seed: aof ? 1 : 2 } });
      const { runs } = await createSweep(db.db, e);
      await queues.enqueue(runs.map((r) => ({ runId: r.id, hash: r.hash, deviceClass: 'cpu' as const })));
      startWorker();
      await waitFor('first cell done', async () => {
        for (const r of runs) if ((await getRun(db.db, r.id))?.status === 'succeeded') return true;
        return false;
      });
      await redis.stop();
      await sleep(1500);
      await redis.start();
      for (const r of runs) {
        const done = await waitForStatus(db.db, r.id, ['succeeded', 'failed'], 90_000);
        expect(done.status).toBe('succeeded');
      }
    });
  }

  it('Postgres unavailable for 10 s while a job finishes: the result is written when it returns', async () => {
    const proxy = new CuttableProxy('127.0.0.1', 5432);
    await proxy.start();
    cleanups.push(() => proxy.close());
    const { startWorker, submit } = await setup();
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const w = startWorker({ DATABASE_URL: url.toString() });
    const run = await submit(job(5, 6));
    await running(run.id);
    const cutAt = Date.now();
    proxy.cut();
    // the evaluation finishes during the outage; the worker keeps trying to write
    await waitFor('worker retrying the result write', async () => /writing result: .*retrying/.test(w.output()), 15_000);
    expect((await getRun(db.db, run.id))!.status).toBe('running');
    await sleep(Math.max(0, 10_000 - (Date.now() - cutAt)));
    proxy.restore();
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await resultRowCounts(run.id)).samples).toBe(done.benchmarkItems);
  });
});
