// Postgres is the truth: every queued run must have a job. After Redis lost data (restart without AOF,
// a flush) or an enqueue that failed after the row was written, this re-adds the missing jobs. A run
// still marked running whose job BullMQ failed on its own (a worker died more often than maxStalledCount
// allows) is marked failed with BullMQ's reason, so no row stays "running" forever.
// Adding is idempotent (job id = hash), so running it often is harmless.
import { markFinishedWithoutResult, runsNeedingJobs, type Db } from '@kvbench/db';
import type { DeviceClassName } from '@kvbench/protocol';
import type { RunQueues } from './queue';

export async function reconcileQueue(db: Db, queues: RunQueues, deviceClass: DeviceClassName): Promise<number> {
  const rows = await runsNeedingJobs(db, deviceClass);
  if (!rows.length) return 0;
  const q = queues.queue(deviceClass);
  const base = `${queues.prefix}:${q.name}`;
  const pipeline = queues.connection.pipeline();
  for (const r of rows) {
    pipeline.exists(`${base}:${r.hash}`);
    pipeline.zscore(`${base}:failed`, r.hash);
  }
  const res = (await pipeline.exec()) ?? [];
  const requeue: typeof rows = [];
  for (const [i, r] of rows.entries()) {
    const exists = res[2 * i]?.[1] === 1;
    const failed = res[2 * i + 1]?.[1] !== null;
    if (!exists) requeue.push(r);
    else if (failed && r.status === 'queued') requeue.push(r); // enqueue removes the old job first
    else if (failed && r.status === 'running') {
      const job = await q.getJob(r.hash);
      // Re-check: the row may have been finished by its worker meanwhile (that update wins, the status guard sees it).
      await markFinishedWithoutResult(db, r.id, 'failed', `the queue gave up on the job: ${job?.failedReason ?? 'unknown reason'}`, 'stalled');
    }
  }
  if (requeue.length) await queues.enqueue(requeue.map((r) => ({ runId: r.id, hash: r.hash, deviceClass })));
  return requeue.length;
}
