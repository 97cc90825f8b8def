// The queue admin page's data: BullMQ job counts and connected workers per device class, failed jobs
// with their reasons, and (from Postgres) the workers that touched runs recently. Redis being away must
// not take the page down, so every queue call has a deadline.
import { listRuns, runStatusCounts, type Db } from '@kvbench/db';
import { DEVICE_CLASSES, type DeviceClassName } from '@kvbench/protocol';
import { getQueues } from '../../lib/services';

const withDeadline = <T,>(p: Promise<T>, ms = 2000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms))]);

export interface QueueClassView {
  deviceClass: DeviceClassName;
  counts: Record<string, number>;
  workers: { name: string; addr: string; idleSeconds: number | null; ageSeconds: number | null }[];
  failed: { id: string; runId: string | null; reason: string; attempts: number; finishedOn: number | null }[];
}

export interface QueueAdminView {
  prefix: string;
  redisError: string | null;
  classes: QueueClassView[];
  runCounts: Awaited<ReturnType<typeof runStatusCounts>>;
  recentWorkers: { workerId: string; lastSeen: Date; runs: number; running: number }[];
  failedRuns: Awaited<ReturnType<typeof listRuns>>;
}

export async function queueAdmin(db: Db): Promise<QueueAdminView> {
  const queues = getQueues();
  let redisError: string | null = null;
  const classes: QueueClassView[] = [];
  try {
    for (const d of DEVICE_CLASSES) {
      const q = queues.queue(d.name);
      const [counts, workers, failed] = await withDeadline(Promise.all([q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'), q.getWorkers(), q.getFailed(0, 19)]));
      classes.push({
        deviceClass: d.name,
        counts,
        workers: workers.map((w) => ({ name: String(w.name ?? ''), addr: String(w.addr ?? ''), idleSeconds: w.idle ? Number(w.idle) : null, ageSeconds: w.age ? Number(w.age) : null })),
        failed: failed.filter(Boolean).map((j) => ({ id: String(j.id), runId: (j.data as { runId?: string })?.runId ?? null, reason: j.failedReason ?? '', attempts: j.attemptsMade, finishedOn: j.finishedOn ?? null })),
      });
    }
  } catch (err) {
    redisError = (err as Error).message;
  }
  const [runCounts, recent, failedRuns] = await Promise.all([runStatusCounts(db), listRuns(db, { limit: 500 }), listRuns(db, { status: 'failed', limit: 25 })]);
  const hour = Date.now() - 3600_000;
  const workers = new Map<string, QueueAdminView['recentWorkers'][number]>();
  for (const r of recent) {
    if (!r.workerId || r.updatedAt.getTime() < hour) continue;
    const w = workers.get(r.workerId) ?? { workerId: r.workerId, lastSeen: r.updatedAt, runs: 0, running: 0 };
    w.runs++;
    if (r.status === 'running') w.running++;
    if (r.updatedAt > w.lastSeen) w.lastSeen = r.updatedAt;
    workers.set(r.workerId, w);
  }
  return { prefix: queues.prefix, redisError, classes, runCounts, recentWorkers: [...workers.values()].sort((a, b) => b.lastSeen.getTime() - a.lastSeen.getTime()), failedRuns };
}
