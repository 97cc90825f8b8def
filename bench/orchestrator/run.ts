// Throughput of the orchestrator, on this machine, against the real Postgres and Redis:
//   1. submitting a 1,000-cell sweep (validate, plan, upsert, enqueue)        target < 2 s
//   2. enqueue-to-start latency with an idle worker (BullMQ timestamps)        target p50 < 50 ms
//   3. jobs per minute of short real stories260K jobs, 1 / 2 / 4 worker processes
//   4. the leaderboard query with 100,000 stored runs                          target p95 < 100 ms
//
//   npm run bench:orchestrator                         # prints the table
//   npm run bench:orchestrator -- --out bench/results/orchestrator.md
//   npm run bench:orchestrator -- --quick              # fewer jobs (a smoke run)
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { canonicalRun, planMemory } from '@kvbench/protocol';
import { leaderboard, newRunRow, openTestPostgres, setDb, upsertRun, type LeaderboardQuery } from '@kvbench/db';
import { RunQueues, startInferenceWorker } from '@kvbench/inference-worker';
import { startApiServer } from '../../apps/web/lib/node-server';
import { submitSweep } from '../../apps/web/lib/runs';
import { setQueues } from '../../apps/web/lib/services';
import { spawnWorker, stopWorker, uniquePrefix, waitFor } from '../../workers/inference/test/harness';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const quick = args.quick!;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const rows: { what: string; result: string; target: string; ok: string }[] = [];
const record = (what: string, result: string, target = '', ok: boolean | null = null) => {
  rows.push({ what, result, target, ok: ok === null ? '' : ok ? 'yes' : 'NO' });
  console.log(`${what}: ${result}${target ? ` (target ${target})` : ''}`);
};

const db = await openTestPostgres();
const cleanups: (() => Promise<void>)[] = [async () => db.close()];
async function freshQueues() {
  const prefix = uniquePrefix();
  const queues = new RunQueues({ prefix });
  cleanups.unshift(async () => {
    const keys = await queues.connection.keys(`${prefix}:*`);
    for (let i = 0; i < keys.length; i += 1000) await queues.connection.del(...keys.slice(i, i + 1000));
    await queues.close();
  });
  return { prefix, queues };
}

try {
  // 1. A 1,000-cell sweep: 8 x 8 bit pairs x 4 x 2 group sizes x 2 benchmarks = 1,024 cells.
  {
    const { queues } = await freshQueues();
    const spec = (seed: number) => ({
      name: `bench ${seed}`, models: ['stories260k'], benchmarks: ['tinystories', 'wikitext2'], keyBits: [1, 2, 3, 4, 5, 6, 7, 8], valueBits: [1, 2, 3, 4, 5, 6, 7, 8],
      keyGroupSizes: [8, 16, 32, 64], valueGroupSizes: [16, 32], base: { limit: 4, seed },
    });
    const times: number[] = [];
    let cells = 0;
    for (let i = 0; i < (quick ? 2 : 4); i++) {
      const t0 = performance.now();
      const r = await submitSweep({ db: db.db, queues }, spec(i));
      times.push(performance.now() - t0);
      cells = r.cells;
    }
    const counts = await queues.queue('cpu').getJobCounts('waiting');
    const med = pct(times, 50);
    record(`submit a ${cells}-cell sweep (median of ${times.length}; ${counts.waiting} jobs queued)`, ms(med), '< 2 s', med < 2000);
    const t0 = performance.now();
    await submitSweep({ db: db.db, queues }, spec(0));
    record(`resubmit the same ${cells}-cell sweep (all cells joined, nothing queued twice)`, ms(performance.now() - t0));
    // The same through HTTP: the route handler behind node:http (JSON parse, auth, response).
    process.env.KVBENCH_API_TOKEN = 'bench';
    setDb(db);
    setQueues(queues);
    const server = await startApiServer();
    const http: number[] = [];
    for (let i = 0; i < (quick ? 2 : 4); i++) {
      const s0 = performance.now();
      const res = await fetch(`${server.url}/api/sweeps`, { method: 'POST', headers: { authorization: 'Bearer bench' }, body: JSON.stringify(spec(100 + i)) });
      if (res.status !== 201) throw new Error(`POST /api/sweeps: ${res.status} ${await res.text()}`);
      http.push(performance.now() - s0);
    }
    await server.close();
    record(`POST /api/sweeps with a ${cells}-cell sweep over HTTP (median of ${http.length})`, ms(pct(http, 50)), '< 2 s', pct(http, 50) < 2000);
  }

  // 2. Enqueue-to-start latency: an idle in-process worker, one short real job at a time.
  {
    const { prefix, queues } = await freshQueues();
    const w = await startInferenceWorker({ db: db.db, deviceClass: 'cpu', prefix, reconcileIntervalMs: 0, log: () => {} });
    const lat: number[] = [];
    const n = quick ? 10 : 30;
    for (let i = 0; i < n; i++) {
      const { config, hash } = canonicalRun({ model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, prompt: 8, maxTokens: 12, limit: 1, seed: 1000 + i });
      const { run } = await upsertRun(db.db, newRunRow(config, hash, 'cpu'));
      await new Promise((r) => setTimeout(r, 50)); // the worker is idle, blocked on Redis
      await queues.enqueue([{ runId: run.id, hash, deviceClass: 'cpu' }]);
      const job = await waitFor('job finished', async () => {
        const j = await queues.queue('cpu').getJob(hash);
        return j?.finishedOn ? j : undefined;
      }, 60_000, 20);
      lat.push(job.processedOn! - job.timestamp);
    }
    await w.drain();
    record(`enqueue-to-start latency, idle worker (${n} jobs): p50 / p95 / max`, `${ms(pct(lat, 50))} / ${ms(pct(lat, 95))} / ${ms(Math.max(...lat))}`, 'p50 < 50 ms', pct(lat, 50) < 50);
  }

  // 3. Jobs per minute of short real jobs with 1, 2 and 4 worker processes.
  for (const procs of quick ? [1, 2] : [1, 2, 4]) {
    const { prefix, queues } = await freshQueues();
    const workers = Array.from({ length: procs }, () => spawnWorker({ DATABASE_URL: db.url, KVBENCH_QUEUE_PREFIX: prefix, KVBENCH_RECONCILE_MS: '0' }));
    await waitFor('workers ready', async () => workers.every((w) => w.output().includes('listening on queue')), 60_000);
    const n = quick ? 8 : 24;
    const items = [];
    for (let i = 0; i < n; i++) {
      const { config, hash } = canonicalRun({ model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, prompt: 16, maxTokens: 48, limit: 2, seed: 5000 + procs * 100 + i });
      const { run } = await upsertRun(db.db, newRunRow(config, hash, planMemory(config).deviceClass));
      items.push({ runId: run.id, hash, deviceClass: 'cpu' as const });
    }
    const t0 = Date.now();
    await queues.enqueue(items);
    await waitFor('all jobs done', async () => (await queues.queue('cpu').getJobCounts('completed')).completed >= n, 600_000, 200);
    const seconds = (Date.now() - t0) / 1000;
    await Promise.all(workers.map(stopWorker));
    record(`short real jobs (stories260K, 2 docs x 48 tokens), ${procs} worker process${procs > 1 ? 'es' : ''}: ${n} jobs in ${seconds.toFixed(1)} s`, `${((n / seconds) * 60).toFixed(0)} jobs/min`);
  }

  // 4. The leaderboard at 100,000 stored runs.
  {
    const N = 100_000;
    const t0 = performance.now();
    await db.db.execute(`insert into runs (id, hash, config, model, benchmark, protocol, key_bits, value_bits, backend, key_group_size, value_group_size,
        key_axis, value_axis, residual_length, "limit", provider, device_class, status, primary_metric, primary_value, primary_stderr,
        kv_bytes_per_token, fp16_bytes_per_token, ratio_to_fp16, tokens_per_second, wall_seconds, provider_used, finished_at)
      select gen_random_uuid()::text, md5(i::text) || md5('kvbench' || i::text), '{}'::jsonb,
        (array['Llama-3.2-1B','Llama-3.2-3B','Llama-3.1-8B','Qwen3-0.6B','Qwen3-4B','Qwen3-8B','Qwen3-14B','Qwen3-32B','stories260k','Llama-3.3-70B'])[1 + i % 10],
        (array['tinystories','wikitext2','gsm8k','hellaswag','arc-easy'])[1 + (i / 10) % 5], 'ppl-decode',
        1 + (i / 50) % 8, 1 + (i / 400) % 8, (array['quanto','hqq'])[1 + (i / 3200) % 2], 64, 64, 'per-token', 'per-token', 128, 20, 'cpu', 'cpu',
        (array['succeeded','succeeded','succeeded','succeeded','failed','queued'])[1 + (i / 7) % 6], 'perplexity', 3 + random() * 10, random(),
        1000 + random() * 100000, 131072, random(), 100 + random() * 1000, random() * 600, 'cpu', now() - (i || ' seconds')::interval
      from generate_series(1, ${N}) as i` as never);
    await db.db.execute('vacuum analyze runs' as never); // what autovacuum does after a bulk load
    record(`insert ${N.toLocaleString('en')} synthetic runs (one statement)`, ms(performance.now() - t0));
    const queries: [string, LeaderboardQuery][] = [
      ['no filter, newest first, page 1', {}],
      ['model, best score first', { model: 'Llama-3.1-8B', sort: 'score' }],
      ['model + benchmark + K4V2', { model: 'Qwen3-8B', benchmark: 'gsm8k', keyBits: 4, valueBits: 2 }],
      ['backend hqq, by KV bytes', { backend: 'hqq', sort: 'kvBytesPerToken', order: 'asc' }],
      ['two models, page 40 of 50', { model: ['Llama-3.2-1B', 'Qwen3-4B'], page: 40, pageSize: 50 }],
      ['model, with every metric attached', { model: 'stories260k', withMetrics: true }],
    ];
    for (const [name, q] of queries) {
      const t: number[] = [];
      for (let i = 0; i < (quick ? 10 : 40); i++) {
        const s = performance.now();
        await leaderboard(db.db, q);
        t.push(performance.now() - s);
      }
      const p95 = pct(t, 95);
      record(`leaderboard at ${N.toLocaleString('en')} runs: ${name}: p50 / p95`, `${ms(pct(t, 50))} / ${ms(p95)}`, 'p95 < 100 ms', p95 < 100);
    }
  }
} finally {
  for (const c of cleanups) await c().catch(() => {});
}

const table = [
  '| measurement | result | target | met |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.what} | ${r.result} | ${r.target} | ${r.ok} |`),
].join('\n');
const header = `# Orchestrator throughput\n\nGenerated by \`npm run bench:orchestrator${quick ? ' -- --quick' : ''}\` on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared with other work), Node ${process.version}, ${new Date().toISOString()}. Real Postgres (a fresh database) and Redis (a fresh queue prefix); jobs run the real engine on stories260K.\n`;
console.log(`\n${table}`);
if (args.out) {
  writeFileSync(args.out, `${header}\n${table}\n`);
  console.log(`\nwrote ${args.out}`);
}
process.exit(0);
