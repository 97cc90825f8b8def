// GET /metrics: Prometheus text. Queue depths come from Redis, run counts and durations from Postgres.
import { runDurationHistogram, runStatusCounts } from '@kvbench/db';
import type { Services } from './services';

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export async function prometheusText(s: Services): Promise<string> {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  metric('kvbench_queue_jobs', 'gauge', 'Jobs in each device-class queue by state (BullMQ).');
  let redisUp = 1;
  try {
    const counts = await s.queues.counts();
    for (const [queue, byState] of Object.entries(counts)) {
      for (const [state, n] of Object.entries(byState)) lines.push(`kvbench_queue_jobs{queue="${esc(queue)}",state="${esc(state)}"} ${n}`);
    }
  } catch {
    redisUp = 0;
  }
  metric('kvbench_redis_up', 'gauge', 'Whether the queue (Redis) answered this scrape.');
  lines.push(`kvbench_redis_up ${redisUp}`);

  metric('kvbench_runs', 'gauge', 'Runs recorded in the database by status (succeeded = jobs done, failed = jobs failed).');
  const statuses = await runStatusCounts(s.db);
  for (const [status, n] of Object.entries(statuses)) lines.push(`kvbench_runs{status="${status}"} ${n}`);

  metric('kvbench_run_duration_seconds', 'histogram', 'Wall time of succeeded runs.');
  const h = await runDurationHistogram(s.db, DURATION_BUCKETS);
  for (const b of h.buckets) lines.push(`kvbench_run_duration_seconds_bucket{le="${b.le}"} ${b.count}`);
  lines.push(`kvbench_run_duration_seconds_bucket{le="+Inf"} ${h.count}`);
  lines.push(`kvbench_run_duration_seconds_sum ${h.sum}`);
  lines.push(`kvbench_run_duration_seconds_count ${h.count}`);
  return lines.join('\n') + '\n';
}
