// The producer side of the run queues (used by the web app, the start script and tests): one BullMQ
// queue per device class, job id = config hash, payload = run id.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEVICE_CLASSES, queuePrefix, type DeviceClassName, type RunJobData } from '@kvbench/protocol';
import { redisConnection } from './redis';

export const JOB_NAME = 'run';

/** Retries for transient faults; bad configs and OOM throw UnrecoverableError and skip them. */
export const RUN_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export interface EnqueueItem {
  runId: string;
  hash: string;
  deviceClass: DeviceClassName;
}

export function abortChannel(prefix: string): string {
  return `${prefix}:abort`;
}
export function abortKey(prefix: string, hash: string): string {
  return `${prefix}:abort:${hash}`;
}

export class RunQueues {
  readonly prefix: string;
  readonly connection: Redis;
  private readonly queues = new Map<string, Queue<RunJobData>>();
  private readonly ownsConnection: boolean;

  constructor(opts: { connection?: Redis; prefix?: string; redisUrl?: string } = {}) {
    this.prefix = opts.prefix ?? queuePrefix();
    this.ownsConnection = !opts.connection;
    this.connection = opts.connection ?? redisConnection('producer', opts.redisUrl);
  }

  queue(name: DeviceClassName): Queue<RunJobData> {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<RunJobData>(name, { connection: this.connection, prefix: this.prefix, streams: { events: { maxLen: 10_000 } } });
      q.on('error', () => {}); // connection errors surface on the calls that fail
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Adds the jobs in the given order (callers pass sweeps model-major, so one worker takes the cells of
   * a model one after another with the model still loaded). A job id already waiting, delayed or active
   * is left alone (BullMQ ignores the duplicate add); a finished job with that id is removed first, so a
   * re-queued run runs again.
   */
  async enqueue(items: EnqueueItem[]): Promise<number> {
    const byClass = new Map<DeviceClassName, EnqueueItem[]>();
    for (const it of items) byClass.set(it.deviceClass, [...(byClass.get(it.deviceClass) ?? []), it]);
    let added = 0;
    for (const [cls, list] of byClass) {
      const q = this.queue(cls);
      const toAdd = await this.needingJobs(q, list);
      for (let i = 0; i < toAdd.length; i += 500) {
        await q.addBulk(toAdd.slice(i, i + 500).map((it) => ({ name: JOB_NAME, data: { runId: it.runId }, opts: { ...RUN_JOB_OPTIONS, jobId: it.hash } })));
      }
      added += toAdd.length;
    }
    return added;
  }

  /**
   * The items whose job must be added: those with no job, and those whose job already finished (that job
   * is removed first, so a re-queued run runs again). A job waiting, delayed or active is left alone.
   * One pipelined round trip for the lot, then one removal per finished job.
   */
  private async needingJobs(q: Queue<RunJobData>, list: EnqueueItem[]): Promise<EnqueueItem[]> {
    const base = `${this.prefix}:${q.name}`;
    const pipeline = this.connection.pipeline();
    for (const it of list) {
      pipeline.exists(`${base}:${it.hash}`);
      pipeline.zscore(`${base}:completed`, it.hash);
      pipeline.zscore(`${base}:failed`, it.hash);
    }
    const res = (await pipeline.exec()) ?? [];
    const out: EnqueueItem[] = [];
    const finished: EnqueueItem[] = [];
    list.forEach((it, i) => {
      const exists = res[3 * i]?.[1] === 1;
      const done = res[3 * i + 1]?.[1] !== null || res[3 * i + 2]?.[1] !== null;
      if (!exists) out.push(it);
      else if (done) finished.push(it);
    });
    await Promise.all(finished.map((it) => q.remove(it.hash).catch(() => 0)));
    return [...out, ...finished];
  }

  /**
   * Cancels a run's job: a waiting or delayed job is removed; an active one gets the abort flag (a key
   * the worker checks, and a message it listens for), which the worker turns into an AbortSignal.
   */
  async cancel(deviceClass: DeviceClassName | null, hash: string): Promise<'removed' | 'signalled' | 'absent'> {
    for (const cls of deviceClass ? [deviceClass] : DEVICE_CLASSES.map((d) => d.name)) {
      const job = await this.queue(cls).getJob(hash);
      if (!job) continue;
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        try {
          await job.remove();
          return 'removed';
        } catch {
          // it became active in between: fall through to the abort flag
        }
      }
      if (state === 'completed' || state === 'failed') return 'absent';
      await this.connection.set(abortKey(this.prefix, hash), '1', 'EX', 24 * 3600);
      await this.connection.publish(abortChannel(this.prefix), hash);
      return 'signalled';
    }
    return 'absent';
  }

  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const d of DEVICE_CLASSES) {
      out[d.name] = await this.queue(d.name).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused');
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    if (this.ownsConnection) this.connection.disconnect();
  }
}
