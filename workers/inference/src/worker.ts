// The inference worker: a BullMQ consumer for one device class. The engine runs in long-lived
// evaluation threads (one EvaluationHost per concurrent job, see evaluation-hosts.ts) that keep the
// model and its sessions loaded between jobs, so this event loop stays free to renew job locks, relay
// progress and hear cancellations. Postgres is the truth; the job only carries the run id.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EvalOptions, EvalProgress, EvalResult, EvaluateControls, EvaluationHostOptions } from '@kvbench/engine';
import { getRun, markFinishedWithoutResult, markRunning, updateProgress, writeRunResult, type Db, type Run } from '@kvbench/db';
import { queuePrefix, type DeviceClassName, type Provider, type RunConfig, type RunJobData } from '@kvbench/protocol';
import { classifyFailure } from './errors';
import { analyzeRun } from './analyze';
import { toEvalOptions, type CacheRowsSetting } from './eval-options';
import { EvaluationHosts, routeForRows } from './evaluation-hosts';
import { abortChannel, abortKey, RunQueues } from './queue';
import { reconcileQueue } from './reconcile';
import { redisConnection } from './redis';
import { resultRows } from './result';

export type EvaluateFn = (options: EvalOptions, controls?: EvaluateControls) => Promise<EvalResult>;

export interface InferenceWorkerOptions {
  db: Db;
  deviceClass: DeviceClassName;
  /** jobs at once; default 1 (one per GPU) */
  concurrency?: number;
  prefix?: string;
  redisUrl?: string;
  workerId?: string;
  /** BullMQ lock; the loop is never blocked by inference, so a modest value is safe */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /**
   * Times a job may lose its worker (SIGKILL, crash) and be taken up again before BullMQ fails it for
   * good (a job that keeps killing its worker is a poison pill); default 2. The fleet simulation, which
   * SIGKILLs far more often than a real fleet, raises it.
   */
  maxStalledCount?: number;
  /** how often queued rows without a job are re-added (after Redis data loss); 0 = never */
  reconcileIntervalMs?: number;
  /** progress written to the row at most this often */
  progressIntervalMs?: number;
  /** how long a finished result keeps retrying its write while Postgres is away */
  resultWriteTimeoutMs?: number;
  /** Replaces the engine (tests); by default jobs run on this worker's evaluation hosts. */
  evaluate?: EvaluateFn;
  /** Options of the long-lived evaluation threads (default maxModels 1: one model kept loaded per
   * thread); false: a fresh thread per job that loads everything again (the engine's plain evaluate()). */
  evaluationHost?: EvaluationHostOptions | false;
  /**
   * Cache rows of WebGPU runs (routeForRows in evaluation-hosts.ts): 'auto' (default) runs those that can
   * reserve rows in a process of their own with them; needs the evaluation hosts (with evaluationHost
   * false every run keeps exact rows, since a fresh thread shares this process's buffer cache).
   */
  kvRows?: CacheRowsSetting;
  /**
   * Simulation only: run every job on this provider whatever its config asks (the fleet simulation's
   * CPU host serving a GPU class's queue). Recorded in versions.providerOverride; providerUsed says what ran.
   */
  providerOverride?: Provider;
  log?: (line: string) => void;
}

export interface InferenceWorker {
  worker: Worker<RunJobData>;
  workerId: string;
  /** graceful: stop taking jobs and let the current ones finish */
  drain(): Promise<void>;
  /** abort the current jobs and hand them back to the queue, then close */
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The checkout's commit, for the provenance record (KVBENCH_GIT_SHA wins, e.g. in images without .git). */
function gitRevision(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

function bullmqVersion(): string {
  try {
    return createRequire(import.meta.url)('bullmq/package.json').version as string;
  } catch {
    return 'unknown';
  }
}
const SHUTDOWN_REASON = 'worker shutting down';
const CANCEL_REASON = 'cancelled by request';

export async function startInferenceWorker(o: InferenceWorkerOptions): Promise<InferenceWorker> {
  const prefix = o.prefix ?? queuePrefix();
  const workerId = o.workerId ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const log = o.log ?? ((line: string) => console.log(`[worker ${o.deviceClass}] ${line}`));
  const hosts = o.evaluate || o.evaluationHost === false ? null : new EvaluationHosts(o.concurrency ?? 1, o.evaluationHost, routeForRows(o.kvRows ?? 'auto'));
  const evaluate: EvaluateFn =
    o.evaluate ?? (hosts ? (opts, controls) => hosts.evaluate(opts, controls) : async (opts, controls) => (await import('@kvbench/engine')).evaluate(opts, controls));
  const connection = redisConnection('worker', o.redisUrl);
  const subscriber = redisConnection('worker', o.redisUrl);
  const producer = new RunQueues({ connection: redisConnection('worker', o.redisUrl), prefix });
  let releasing = false;
  const git = process.env.KVBENCH_GIT_SHA ?? gitRevision();
  const versions = { worker: '0.1.0', workerId, deviceClass: o.deviceClass, bullmq: bullmqVersion(), ...(git ? { git } : {}), ...(o.providerOverride ? { providerOverride: o.providerOverride } : {}) };

  async function withDbRetry<T>(what: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
    const start = Date.now();
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        return await fn();
      } catch (err) {
        if (Date.now() - start > timeoutMs) throw err;
        log(`${what}: ${(err as Error).message}; retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  async function processJob(job: Job<RunJobData>, token?: string, signal?: AbortSignal): Promise<unknown> {
    const runId = job.data?.runId;
    if (typeof runId !== 'string') throw new UnrecoverableError('job payload has no runId');
    const hash = job.id!;
    // Database faults here are transient: BullMQ retries the job with backoff.
    let run: Run | undefined = await getRun(o.db, runId);
    if (!run) throw new UnrecoverableError(`run ${runId} not found`);
    if (run.status === 'succeeded') return { runId, skipped: 'already succeeded' };
    if (run.cancelRequested || run.status === 'cancelled' || (await connection.exists(abortKey(prefix, hash)))) {
      await markFinishedWithoutResult(o.db, runId, 'cancelled', 'cancelled before it started', 'cancelled');
      return { runId, cancelled: true };
    }
    run = await markRunning(o.db, runId, workerId);
    if (!run) return { runId, skipped: 'finished or cancelled meanwhile' };
    log(`run ${runId} (${run.model} ${run.benchmark} K${run.keyBits}V${run.valueBits}) attempt ${run.attempts}`);

    let lastDbWrite = 0;
    const progressEvery = o.progressIntervalMs ?? 1000;
    const onProgress = (p: EvalProgress) => {
      void job.updateProgress({ runId, ...p }).catch(() => {});
      const now = Date.now();
      if (now - lastDbWrite >= progressEvery || p.itemsDone === p.itemsTotal) {
        lastDbWrite = now;
        void updateProgress(o.db, runId, p).catch(() => {});
      }
    };

    let result: EvalResult;
    try {
      if ((run.config as RunConfig).protocol === 'analyze') result = await analyzeRun(run.config as RunConfig, { signal, onProgress });
      else {
        const options = toEvalOptions(run.config as RunConfig);
        if (o.providerOverride) options.provider = o.providerOverride;
        result = await evaluate(options, { signal, onProgress });
        // A budget run without its allocation ran something else (an engine that ignored cache.budget): not a result.
        if (options.cache.budget && !result.allocation) throw new Error('cache.budget: this engine returned no allocation for a budget run (it does not support budget mode)');
      }
    } catch (err) {
      const kind = classifyFailure(err);
      const message = (err as Error)?.message ?? String(err);
      if (kind === 'cancelled') {
        if (releasing || signal?.reason === SHUTDOWN_REASON) {
          // Shutdown: hand the job back without spending an attempt.
          await markFinishedWithoutResult(o.db, runId, 'queued', 'released by a worker shutting down', null).catch(() => {});
          await job.moveToWait(token);
          throw new WaitingError();
        }
        await markFinishedWithoutResult(o.db, runId, 'cancelled', 'cancelled while running', 'cancelled').catch(() => {});
        await connection.del(abortKey(prefix, hash)).catch(() => {});
        log(`run ${runId} cancelled`);
        return { runId, cancelled: true };
      }
      if (kind === 'oom' || kind === 'config') {
        const reason = `${kind === 'oom' ? 'out of memory' : 'bad config'}: ${message}`;
        await withDbRetry('marking failed', () => markFinishedWithoutResult(o.db, runId, 'failed', reason, kind), 60_000).catch(() => {});
        log(`run ${runId} failed for good: ${reason}`);
        throw new UnrecoverableError(reason);
      }
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      await markFinishedWithoutResult(o.db, runId, final ? 'failed' : 'queued', `${final ? '' : 'retrying after: '}${message}`, 'transient').catch(() => {});
      log(`run ${runId} ${final ? 'failed' : 'will be retried'}: ${message}`);
      throw err;
    }
    // The result is written once, in one transaction; while Postgres is away keep retrying (the job
    // lock is renewed meanwhile), so a finished evaluation is never lost.
    const rows = resultRows(result, run.config as RunConfig, versions);
    const written = await withDbRetry('writing result', () => writeRunResult(o.db, runId, rows), o.resultWriteTimeoutMs ?? 10 * 60_000);
    log(`run ${runId} ${written ? 'succeeded' : 'was already written'} (${result.speed.wallSeconds.toFixed(1)} s, ${result.speed.tokensPerSecond.toFixed(0)} tok/s)`);
    return { runId, written };
  }

  const worker = new Worker<RunJobData>(o.deviceClass, processJob, {
    connection,
    prefix,
    concurrency: o.concurrency ?? 1,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 30_000,
    maxStalledCount: o.maxStalledCount ?? 2,
    autorun: true,
    metrics: { maxDataPoints: 60 * 24 },
  });
  worker.on('error', (err) => log(`error: ${err.message}`));
  // A lost lock (Redis restarted, or a long stall) does not abort the evaluation: the result write is
  // idempotent by run id, so finishing is never wrong, and it saves the work when Redis only blinked.
  worker.on('lockRenewalFailed', (ids) => log(`lost the lock of ${ids.join(', ')}; finishing anyway (the result write is idempotent)`));

  // Cancellation from the API: a message on the abort channel (and a key, for jobs not yet started).
  await subscriber.subscribe(abortChannel(prefix));
  subscriber.on('message', (_channel, hash: string) => {
    if (worker.cancelJob(hash, CANCEL_REASON)) log(`cancelling job ${hash}`);
  });

  let reconcileTimer: NodeJS.Timeout | undefined;
  const reconcileEvery = o.reconcileIntervalMs ?? 30_000;
  const reconcile = async () => {
    try {
      const n = await reconcileQueue(o.db, producer, o.deviceClass);
      if (n) log(`re-queued ${n} run(s) that had no job (Redis lost them, or an enqueue failed)`);
    } catch {
      // Redis or Postgres away: next time
    }
  };
  if (reconcileEvery > 0) {
    void reconcile();
    reconcileTimer = setInterval(reconcile, reconcileEvery);
    reconcileTimer.unref();
  }

  const shutdown = async () => {
    clearInterval(reconcileTimer);
    await worker.close();
    // No job runs any more (an aborted one may still be winding down to its next step): end the threads.
    await hosts?.close();
    await subscriber.quit().catch(() => subscriber.disconnect());
    await producer.close();
    connection.disconnect();
    producer.connection.disconnect();
  };

  log(`listening on queue ${prefix}:${o.deviceClass} (concurrency ${o.concurrency ?? 1}, id ${workerId})`);
  return {
    worker,
    workerId,
    drain: shutdown,
    async release() {
      releasing = true;
      worker.cancelAllJobs(SHUTDOWN_REASON);
      await shutdown();
    },
  };
}
