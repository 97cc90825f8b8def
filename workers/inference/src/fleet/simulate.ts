// The fleet simulation: real Redis, real Postgres, real worker processes of several device classes (GPU
// classes served on this machine's CPU provider, `--simulate-provider cpu`), a mixed sweep submitted the
// way the web app does (createSweep + enqueue on the planner's class), and workers SIGKILLed and
// SIGTERMed at random and restarted while it runs. At the end it checks exactly-once completion and
// routing against Postgres, the queues and the workers' logs, and measures throughput and utilisation.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createSweep, getRun, openDb, openTestPostgres, planCells, type Db, type DbHandle, type Run } from '@kvbench/db';
import { deviceClass as classInfo, planMemory, QUEUE_NAMES, type DeviceClassName, type RunConfig } from '@kvbench/protocol';
import { RunQueues } from '../queue';
import { buildSweeps, DEFAULT_CELL_LIMITS, prepareModels, type CellLimits } from './cells';
import { alive, busyMs, lifetimeMs, spawnWorkerProcess, type WorkerProc } from './processes';

export interface FleetOptions {
  /** worker processes per device class, e.g. { cpu: 2, 'gpu-24g': 1, 'gpu-80g': 1 } */
  workers: Partial<Record<DeviceClassName, number>>;
  cells: number;
  /** mean time between kills (uniform in [0.5, 1.5] x this); 0 = no kills */
  killEveryMs: number;
  seed: number;
  /** share of kills that are SIGKILL (the rest SIGTERM, which drains); default 0.5 */
  sigkillShare?: number;
  /** Postgres to use as is; default a fresh database next to KVBENCH_TEST_POSTGRES_URL, dropped at the end */
  databaseUrl?: string;
  redisUrl?: string;
  limits?: CellLimits;
  /** give up waiting for the cells after this long */
  timeoutMs?: number;
  /**
   * BullMQ's stall budget for the workers (KVBENCH_MAX_STALLED). The production default, 2, fails a job
   * whose worker died three times (a poison pill); random kills at this rate hit some job that often, so
   * the simulation raises it (default 50) and reports the most stalls any job took.
   */
  maxStalledCount?: number;
  /** stop early (Ctrl-C): the workers are stopped and the queues and database cleaned up */
  signal?: AbortSignal;
  /** extra env for the workers (lock and stall timings default to 4 s / 2 s so a SIGKILLed job is taken up again quickly) */
  workerEnv?: Record<string, string>;
  log?: (line: string) => void;
}

export interface FleetCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ClassStats {
  deviceClass: DeviceClassName;
  slots: number;
  cells: number;
  succeeded: number;
  busyMs: number;
  /** busy time / (slots x wall time) */
  utilisation: number;
  /** busy time / time its processes were alive (restarts and startup excluded) */
  utilisationAlive: number;
  meanCellSeconds: number | null;
}

export interface SlotStats {
  slot: number;
  deviceClass: DeviceClassName;
  processes: number;
  busyMs: number;
  aliveMs: number;
  jobsStarted: number;
  utilisation: number;
}

export interface FleetReport {
  ok: boolean;
  checks: FleetCheck[];
  options: { workers: string; cells: number; killEveryMs: number; seed: number; sigkillShare: number; maxStalledCount: number; limits: CellLimits };
  database: string;
  prefix: string;
  /** first submit to the last cell finished */
  wallMs: number;
  cellsPerMinute: number;
  byClass: ClassStats[];
  slots: SlotStats[];
  kills: { sigkill: number; sigterm: number; sigtermForced: number; beforeReady: number; midJob: number; sigtermDrained: number; sigtermLostJob: number };
  restarts: number;
  unexpectedExits: number;
  retries: { runs: number; maxAttempts: number; jobStarts: number; duplicateEvaluations: number; writtenWithoutLogLine: number; stalls: number; maxStallsPerJob: number };
  failures: string[];
}

/** Small deterministic PRNG (mulberry32): the same seed gives the same kill choices and intervals. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// This workspace reaches Postgres only through @kvbench/db (drizzle is db's dependency): the few audit
// queries here are plain SQL over a JSON list of ids (uuids and hex hashes, quoted defensively).
const jsonList = (xs: string[]) => `'${JSON.stringify(xs).replace(/'/g, "''")}'::jsonb`;
async function query<T>(db: Db, text: string): Promise<T[]> {
  return ((await db.execute(text)) as unknown as { rows: T[] }).rows;
}
async function loadRuns(db: Db, ids: string[]): Promise<Run[]> {
  const out: Run[] = [];
  for (const id of ids) {
    const r = await getRun(db, id);
    if (r) out.push(r);
  }
  return out;
}

/** "cpu:2,gpu-24g:1" -> { cpu: 2, 'gpu-24g': 1 }, naming the bad part. */
export function parseWorkers(text: string): Partial<Record<DeviceClassName, number>> {
  const out: Partial<Record<DeviceClassName, number>> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [cls, n] = part.split(':');
    if (!QUEUE_NAMES.includes(cls as DeviceClassName)) throw new Error(`--workers: ${JSON.stringify(cls)} is not a device class (${QUEUE_NAMES.join(', ')})`);
    const count = n === undefined ? 1 : Number(n);
    if (!Number.isInteger(count) || count < 1) throw new Error(`--workers: ${JSON.stringify(part)} needs a count >= 1`);
    out[cls as DeviceClassName] = (out[cls as DeviceClassName] ?? 0) + count;
  }
  if (!Object.keys(out).length) throw new Error('--workers: give at least one class, e.g. cpu:2,gpu-24g:1');
  return out;
}

/** "5s", "500ms", "2m", "0" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 5s, 500ms or 2m, got ${JSON.stringify(text)}`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

export async function runFleetSimulation(o: FleetOptions): Promise<FleetReport> {
  const log = o.log ?? ((line: string) => console.log(line));
  const rng = prng(o.seed);
  const sigkillShare = o.sigkillShare ?? 0.5;
  const limits = o.limits ?? DEFAULT_CELL_LIMITS;
  const classes = new Set(Object.keys(o.workers) as DeviceClassName[]);
  const slotClasses: DeviceClassName[] = QUEUE_NAMES.flatMap((c) => Array.from({ length: o.workers[c] ?? 0 }, () => c));
  const workersText = QUEUE_NAMES.filter((c) => o.workers[c]).map((c) => `${c}:${o.workers[c]}`).join(',');

  const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'kvbench-fleet-models-'));
  // A fresh database is dropped by its close(); a given one is only disconnected.
  const handle: DbHandle & { url: string } = o.databaseUrl ? { ...(await openDb({ databaseUrl: o.databaseUrl })), url: o.databaseUrl } : await openTestPostgres();
  const db = handle.db;
  const prefix = `kvfleet-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const queues = new RunQueues({ prefix, redisUrl: o.redisUrl });
  const procs: WorkerProc[] = [];
  const slots: (WorkerProc | undefined)[] = slotClasses.map(() => undefined);
  let finishing = false;
  // No more kills: the cells are done and the fleet is waiting for its killed slots to come back.
  let settling = false;
  let restarts = 0;
  let unexpectedExits = 0;
  const kills = { sigkill: 0, sigterm: 0, sigtermForced: 0, beforeReady: 0, midJob: 0, sigtermDrained: 0, sigtermLostJob: 0 };
  const failures: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const env = {
    DATABASE_URL: handle.url,
    KVBENCH_QUEUE_PREFIX: prefix,
    KVBENCH_LOCK_MS: '4000',
    KVBENCH_STALLED_MS: '2000',
    KVBENCH_RECONCILE_MS: '2000',
    KVBENCH_PROGRESS_MS: '500',
    KVBENCH_MAX_STALLED: String(o.maxStalledCount ?? 50),
    ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}),
    ...o.workerEnv,
  };

  const startSlot = (slot: number) => {
    const cls = slotClasses[slot];
    const p = spawnWorkerProcess(slot, cls, { env, simulateProvider: classInfo(cls)!.kind === 'gpu' ? 'cpu' : undefined });
    procs.push(p);
    slots[slot] = p;
    void p.exited.then(() => {
      if (p.sent === 'SIGTERM') {
        // Drained: the handler ran and the process exited 0. Otherwise SIGTERM's default action killed it,
        // and a job it held (a span cut by the exit) is left to stall like after a SIGKILL.
        if (p.exitCode === 0) kills.sigtermDrained++;
        else if (p.spans.some((x) => x.outcome === 'exited')) kills.sigtermLostJob++;
      }
      if (finishing) return;
      if (!p.sent) {
        unexpectedExits++;
        failures.push(`slot ${slot} (${cls}) pid ${p.child.pid} exited on its own (code ${p.exitCode}, signal ${p.exitSignal}):\n${p.tail.slice(-15).join('\n')}`);
      }
      later(500 + rng() * 1000, () => {
        if (finishing) return;
        restarts++;
        startSlot(slot);
      });
    });
  };

  try {
    const models = prepareModels(modelsDir, classes, o.seed);
    const sweeps = buildSweeps(models, o.cells, o.seed, limits);
    log(`fleet: ${o.cells} cells in ${sweeps.length} sweeps over ${models.length} models; workers ${workersText}; queue prefix ${prefix}; database ${handle.location}`);

    slotClasses.forEach((_, i) => startSlot(i));
    const readyBy = Date.now() + 120_000;
    while (slots.some((p) => !p?.readyAt)) {
      if (Date.now() > readyBy) throw new Error(`fleet: workers not ready after 120 s:\n${slots.map((p) => p?.tail.join('\n')).join('\n---\n')}`);
      if (unexpectedExits) throw new Error(`fleet: a worker died while starting:\n${failures.join('\n')}`);
      await sleep(100);
    }

    // Submit as the web app does: one transaction per sweep (rows model-major), then the jobs on the planner's class.
    const t0 = Date.now();
    const cellClass = new Map<string, DeviceClassName>();
    let existed = 0;
    for (const s of sweeps) {
      const planned = planCells(s.expansion);
      const { runs, newRuns } = await createSweep(db, s.expansion, planned);
      existed += runs.length - newRuns.size;
      for (const r of runs) cellClass.set(r.id, r.deviceClass as DeviceClassName);
      await queues.enqueue(runs.filter((r) => r.status === 'queued').map((r) => ({ runId: r.id, hash: r.hash, deviceClass: r.deviceClass as DeviceClassName })));
    }
    if (existed) throw new Error(`fleet: ${existed} cells already existed in ${handle.location} (same --seed on a reused database?); use a fresh database or another --seed`);
    const runIds = [...cellClass.keys()];
    const idList = jsonList(runIds);
    log(`fleet: submitted ${runIds.length} cells in ${Date.now() - t0} ms`);

    // Kills: a random ready worker, preferring one in the middle of a job; the first two are one SIGKILL and one SIGTERM.
    const tick = () => {
      if (finishing || settling) return;
      // A process still starting is left alone: on a loaded machine startup takes seconds, and killing
      // it again and again would measure nothing but restarts.
      const ready = slots.filter((p): p is WorkerProc => alive(p) && !p.sent && !!p.readyAt);
      const busy = ready.filter((p) => p.current);
      const pool = busy.length ? busy : ready;
      if (pool.length) {
        const p = pool[Math.floor(rng() * pool.length)];
        const n = kills.sigkill + kills.sigterm;
        const signal = n === 0 ? 'SIGKILL' : n === 1 ? 'SIGTERM' : rng() < sigkillShare ? 'SIGKILL' : 'SIGTERM';
        p.sent = signal;
        if (!p.readyAt) kills.beforeReady++;
        if (p.current) kills.midJob++;
        kills[signal === 'SIGKILL' ? 'sigkill' : 'sigterm']++;
        p.child.kill(signal);
        if (signal === 'SIGTERM') {
          // A drain longer than a few cells means the worker hangs: force it (and count it).
          later(60_000, () => {
            if (alive(p)) {
              kills.sigtermForced++;
              p.child.kill('SIGKILL');
            }
          });
        }
      }
      later(o.killEveryMs * (0.5 + rng()), tick);
    };
    if (o.killEveryMs > 0) later(o.killEveryMs * (0.5 + rng()), tick);

    // Wait for every cell to reach a final status.
    const deadline = t0 + (o.timeoutMs ?? 60 * 60_000);
    let lastLog = Date.now();
    let t1 = t0;
    for (;;) {
      const rows = await query<{ status: string; n: number; last: string | Date | null }>(db, `select status, count(*)::int as n, max(finished_at) as last from runs
        where id in (select jsonb_array_elements_text(${idList})) group by status`);
      const counts: Record<string, number> = {};
      let last = 0;
      for (const r of rows) {
        counts[r.status] = Number(r.n);
        if (r.last) last = Math.max(last, new Date(r.last).getTime());
      }
      const final = (counts.succeeded ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`fleet: ${((Date.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}; kills ${kills.sigkill} SIGKILL + ${kills.sigterm} SIGTERM, restarts ${restarts}`);
      }
      if (final === runIds.length) {
        t1 = Math.max(last, t0 + 1);
        break;
      }
      if (o.signal?.aborted) {
        failures.push(`interrupted after ${((Date.now() - t0) / 1000).toFixed(0)} s with ${JSON.stringify(counts)}`);
        t1 = Date.now();
        break;
      }
      if (Date.now() > deadline) {
        failures.push(`timed out after ${((Date.now() - t0) / 1000).toFixed(0)} s with ${JSON.stringify(counts)}`);
        t1 = Date.now();
        break;
      }
      await sleep(250);
    }

    // The killed slots come back before the fleet stops, so the report's restarts count every recovery
    // instead of racing the last cells (a fast run could end between a kill and its restart).
    settling = true;
    const settleBy = Date.now() + 60_000;
    while (Date.now() < settleBy && slots.some((p) => !p || p.sent || !p.readyAt)) await sleep(100);
    // A worker killed between writing a result and completing its job leaves the job active until its lock
    // expires and a live worker takes it (and finds the result written): let that happen before stopping.
    while (Date.now() < settleBy && (await queueProblems(queues, cellClass)).length > 0) await sleep(250);

    // Stop the fleet before checking, so nothing writes behind the checks.
    finishing = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    await stopAll(procs);

    const checks = await verify(db, queues, runIds, cellClass, procs);
    // BullMQ's stall counter per job (the job hashes are kept after completion).
    const pipeline = queues.connection.pipeline();
    const runs = await loadRuns(db, runIds);
    for (const r of runs) pipeline.hget(`${prefix}:${r.deviceClass}:${r.hash}`, 'stc');
    const stalls = ((await pipeline.exec()) ?? []).map(([, v]) => Number(v ?? 0));
    return await buildReport({ o, workersText, sigkillShare, limits, handle, prefix, t0, t1, runIds, cellClass, slotClasses, procs, kills, restarts, unexpectedExits, failures, checks, db, stalls });
  } finally {
    finishing = true;
    for (const t of timers) clearTimeout(t);
    await stopAll(procs);
    const keys = await queues.connection.keys(`${prefix}:*`).catch(() => [] as string[]);
    for (let i = 0; i < keys.length; i += 500) await queues.connection.del(...keys.slice(i, i + 500)).catch(() => 0);
    await queues.close().catch(() => {});
    await handle.close().catch(() => {});
    rmSync(modelsDir, { recursive: true, force: true });
  }
}

async function stopAll(procs: WorkerProc[]): Promise<void> {
  const live = procs.filter(alive);
  for (const p of live) p.child.kill('SIGTERM');
  await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(20_000)]);
  for (const p of procs.filter(alive)) p.child.kill('SIGKILL');
  await Promise.all(live.map((p) => p.exited));
}

async function verify(db: Db, queues: RunQueues, runIds: string[], cellClass: Map<string, DeviceClassName>, procs: WorkerProc[]): Promise<FleetCheck[]> {
  const checks: FleetCheck[] = [];
  const check = (name: string, bad: string[], okDetail: string) =>
    checks.push({ name, ok: bad.length === 0, detail: bad.length ? `${bad.length} problem(s): ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? '; ...' : ''}` : okDetail });
  const rows = await loadRuns(db, runIds);

  // One runs row per config hash.
  const dupRows = await query<{ hash: string; n: number }>(db, `select hash, count(*)::int as n from runs
    where hash in (select jsonb_array_elements_text(${jsonList(rows.map((r) => r.hash))})) group by hash having count(*) <> 1`);
  check('one runs row per cell and per config hash', [
    ...(rows.length !== runIds.length ? [`${rows.length} rows for ${runIds.length} cells`] : []),
    ...(new Set(rows.map((r) => r.hash)).size !== rows.length ? ['two cells share a hash'] : []),
    ...dupRows.map((d) => `hash ${d.hash.slice(0, 12)} has ${d.n} rows`),
  ], `${rows.length} rows, ${rows.length} distinct hashes`);

  // Every cell succeeded.
  const notDone = rows.filter((r) => r.status !== 'succeeded');
  check('every cell succeeded', notDone.map((r) => `${r.id} ${r.model.split('/').pop()} K${r.keyBits}V${r.valueBits} ${r.status}: ${(r.error ?? '').split('\n')[0]}`), `${rows.length - notDone.length}/${runIds.length} succeeded`);

  // Exactly one result set per run: metrics by distinct name, one sample per benchmark item.
  const res = await query<{ id: string; metrics: number; metric_names: number; samples: number; sample_indexes: number }>(db, `select r.id,
      (select count(*) from run_metrics m where m.run_id = r.id)::int as metrics,
      (select count(distinct name) from run_metrics m where m.run_id = r.id)::int as metric_names,
      (select count(*) from samples s where s.run_id = r.id)::int as samples,
      (select count(distinct index) from samples s where s.run_id = r.id)::int as sample_indexes
    from runs r where r.id in (select jsonb_array_elements_text(${jsonList(runIds)}))`);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const resultBad: string[] = [];
  for (const c of res) {
    const r = byId.get(c.id)!;
    if (r.status !== 'succeeded') continue;
    if (c.metrics === 0 || c.metrics !== c.metric_names) resultBad.push(`${c.id}: ${c.metrics} metric rows, ${c.metric_names} names`);
    if (c.samples !== r.benchmarkItems || c.samples !== c.sample_indexes) resultBad.push(`${c.id}: ${c.samples} samples for ${r.benchmarkItems} items`);
    if (r.primaryValue == null) resultBad.push(`${c.id}: no primary metric`);
  }
  check('exactly one result set per run', resultBad, 'metrics (one row per name), one sample per item, primary metric set');

  // The result was written once: at most one "succeeded" line per run over every worker process.
  const writes = new Map<string, number>();
  const startedBy = new Map<string, Set<DeviceClassName>>();
  for (const p of procs) {
    for (const s of p.spans) {
      if (s.outcome === 'succeeded') writes.set(s.runId, (writes.get(s.runId) ?? 0) + 1);
      if (!startedBy.has(s.runId)) startedBy.set(s.runId, new Set());
      startedBy.get(s.runId)!.add(p.deviceClass);
    }
  }
  check('result written by exactly one worker', [...writes].filter(([, n]) => n > 1).map(([id, n]) => `${id} written ${n} times`), `no run written twice (${writes.size} write lines seen)`);

  // Routing: the planner's class, the class that served it, and every class that started it agree, and it fits.
  const routeBad: string[] = [];
  for (const r of rows) {
    const config = r.config as RunConfig;
    const plan = planMemory(config);
    const served = (r.versions as Record<string, string> | null)?.deviceClass;
    const override = (r.versions as Record<string, string> | null)?.providerOverride;
    const info = classInfo(r.deviceClass ?? '');
    const where = `${r.id} (${r.model.split('/').pop()} ${r.provider})`;
    if (r.deviceClass !== cellClass.get(r.id) || r.deviceClass !== plan.deviceClass) routeBad.push(`${where}: row class ${r.deviceClass}, planned ${plan.deviceClass}`);
    if (!info || plan.totalBytes > info.memoryBytes || (info.kind === 'cpu') !== (r.provider === 'cpu')) routeBad.push(`${where}: needs ${plan.totalBytes} B on ${r.provider}, does not fit ${r.deviceClass}`);
    if (r.status === 'succeeded' && served !== r.deviceClass) routeBad.push(`${where}: served by a ${served} worker, planned ${r.deviceClass}`);
    for (const c of startedBy.get(r.id) ?? []) if (c !== r.deviceClass) routeBad.push(`${where}: started by a ${c} worker`);
    if (r.status === 'succeeded' && r.providerUsed !== 'cpu') routeBad.push(`${where}: provider used ${r.providerUsed}`);
    if (r.status === 'succeeded' && info?.kind === 'gpu' && override !== 'cpu') routeBad.push(`${where}: GPU class run without the recorded simulation override`);
  }
  const perClass = [...new Set(rows.map((r) => r.deviceClass))].map((c) => `${c} ${rows.filter((r) => r.deviceClass === c).length}`).join(', ');
  check('routing: every run planned, queued, started and served on a class that fits it', routeBad, perClass);

  // The queues agree: every job completed, none failed or left behind.
  check('queues drained: every job completed once, none failed', await queueProblems(queues, cellClass), 'completed = cells on every class queue');
  return checks;
}

/** Class queues whose jobs are not all completed (one per cell), with their counts. */
async function queueProblems(queues: RunQueues, cellClass: Map<string, DeviceClassName>): Promise<string[]> {
  const problems: string[] = [];
  for (const cls of new Set(cellClass.values())) {
    const n = [...cellClass.values()].filter((c) => c === cls).length;
    const c = await queues.queue(cls).getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized', 'paused');
    if (c.completed !== n || c.failed || c.waiting || c.active || c.delayed || c.prioritized || c.paused) problems.push(`${cls}: ${JSON.stringify(c)} for ${n} cells`);
  }
  return problems;
}

async function buildReport(a: {
  o: FleetOptions;
  workersText: string;
  sigkillShare: number;
  limits: CellLimits;
  handle: DbHandle;
  prefix: string;
  t0: number;
  t1: number;
  runIds: string[];
  cellClass: Map<string, DeviceClassName>;
  slotClasses: DeviceClassName[];
  procs: WorkerProc[];
  kills: FleetReport['kills'];
  restarts: number;
  unexpectedExits: number;
  failures: string[];
  checks: FleetCheck[];
  db: Db;
  stalls: number[];
}): Promise<FleetReport> {
  const { t0, t1, procs } = a;
  const wallMs = t1 - t0;
  const rows = await loadRuns(a.db, a.runIds);
  const slots: SlotStats[] = a.slotClasses.map((deviceClass, slot) => {
    const mine = procs.filter((p) => p.slot === slot);
    const busy = mine.reduce((n, p) => n + busyMs(p, t0, t1), 0);
    return {
      slot,
      deviceClass,
      processes: mine.length,
      busyMs: busy,
      aliveMs: mine.reduce((n, p) => n + lifetimeMs(p, t0, t1), 0),
      jobsStarted: mine.reduce((n, p) => n + p.spans.filter((s) => s.start >= t0 && s.start <= t1).length, 0),
      utilisation: busy / Math.max(wallMs, 1),
    };
  });
  const byClass: ClassStats[] = QUEUE_NAMES.filter((c) => a.slotClasses.includes(c)).map((deviceClass) => {
    const s = slots.filter((x) => x.deviceClass === deviceClass);
    const cells = rows.filter((r) => r.deviceClass === deviceClass);
    const done = cells.filter((r) => r.status === 'succeeded');
    const busy = s.reduce((n, x) => n + x.busyMs, 0);
    const aliveMs = s.reduce((n, x) => n + x.aliveMs, 0);
    return {
      deviceClass,
      slots: s.length,
      cells: cells.length,
      succeeded: done.length,
      busyMs: busy,
      utilisation: busy / Math.max(s.length * wallMs, 1),
      utilisationAlive: busy / Math.max(aliveMs, 1),
      meanCellSeconds: done.length ? done.reduce((n, r) => n + (r.wallSeconds ?? 0), 0) / done.length : null,
    };
  });
  const spans = procs.flatMap((p) => p.spans);
  const writtenLines = new Set(spans.filter((s) => s.outcome === 'succeeded').map((s) => s.runId));
  const checks = [...a.checks];
  checks.push({
    name: 'no worker died on its own, nothing timed out',
    ok: a.failures.length === 0,
    detail: a.failures.length ? `${a.failures.length}: ${a.failures.slice(0, 3).map((f) => f.split('\n')[0]).join('; ')}${a.failures.length > 3 ? '; ...' : ''}` : `${a.unexpectedExits} unexpected exits`,
  });
  return {
    ok: checks.every((c) => c.ok),
    checks,
    options: { workers: a.workersText, cells: a.o.cells, killEveryMs: a.o.killEveryMs, seed: a.o.seed, sigkillShare: a.sigkillShare, maxStalledCount: a.o.maxStalledCount ?? 50, limits: a.limits },
    database: a.handle.location,
    prefix: a.prefix,
    wallMs,
    cellsPerMinute: rows.filter((r) => r.status === 'succeeded').length / (wallMs / 60_000),
    byClass,
    slots,
    kills: a.kills,
    restarts: a.restarts,
    unexpectedExits: a.unexpectedExits,
    retries: {
      runs: rows.filter((r) => r.attempts > 1).length,
      maxAttempts: Math.max(0, ...rows.map((r) => r.attempts)),
      jobStarts: spans.length,
      duplicateEvaluations: spans.filter((s) => s.outcome === 'was already written').length,
      writtenWithoutLogLine: rows.filter((r) => r.status === 'succeeded' && !writtenLines.has(r.id)).length,
      stalls: a.stalls.reduce((n, x) => n + x, 0),
      maxStallsPerJob: Math.max(0, ...a.stalls),
    },
    failures: a.failures,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The printed summary: a few lines, then per-class and per-process tables, then the checks. */
export function formatFleetReport(r: FleetReport): string {
  const o = r.options;
  const lines = [
    `fleet simulation: ${o.cells} cells, workers ${o.workers}, kill every ~${o.killEveryMs / 1000} s (${pct(o.sigkillShare)} SIGKILL), seed ${o.seed}, cells of ${o.limits.limit} doc x ${o.limits.maxTokens} tokens`,
    '',
    '| measure | value |',
    '|---|---|',
    `| wall time (first submit to last cell finished) | ${secs(r.wallMs)} |`,
    `| throughput | ${r.cellsPerMinute.toFixed(1)} cells/min |`,
    `| kills | ${r.kills.sigkill} SIGKILL + ${r.kills.sigterm} SIGTERM (${r.kills.midJob} mid-job, ${r.kills.beforeReady} before ready); SIGTERM drained ${r.kills.sigtermDrained}, died undrained holding a job ${r.kills.sigtermLostJob}, drains forced ${r.kills.sigtermForced} |`,
    `| restarts | ${r.restarts} (${r.unexpectedExits} unexpected exits) |`,
    `| retries | ${r.retries.runs} runs with attempts > 1 (max ${r.retries.maxAttempts}); ${r.retries.jobStarts} job starts for ${o.cells} cells |`,
    `| stalled-job recoveries (BullMQ) | ${r.retries.stalls} (at most ${r.retries.maxStallsPerJob} for one job; stall budget ${o.maxStalledCount}) |`,
    `| duplicate evaluations | ${r.retries.duplicateEvaluations} (finished, found the result already written) |`,
    '',
    '| class | workers | cells | done | mean cell | busy | utilisation (busy / workers x wall) | busy / alive |',
    '|---|---|---|---|---|---|---|---|',
    ...r.byClass.map((c) => `| ${c.deviceClass} | ${c.slots} | ${c.cells} | ${c.succeeded} | ${c.meanCellSeconds == null ? '-' : `${c.meanCellSeconds.toFixed(2)} s`} | ${secs(c.busyMs)} | ${pct(c.utilisation)} | ${pct(c.utilisationAlive)} |`),
    '',
    '| worker slot | class | processes (1 + restarts) | jobs started | alive | busy | busy / wall |',
    '|---|---|---|---|---|---|---|',
    ...r.slots.map((s) => `| ${s.slot} | ${s.deviceClass} | ${s.processes} | ${s.jobsStarted} | ${secs(s.aliveMs)} | ${secs(s.busyMs)} | ${pct(s.utilisation)} |`),
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...r.checks.map((c) => `| ${c.name} | ${c.ok ? 'pass' : 'FAIL'} | ${c.detail.replace(/\|/g, '/')} |`),
  ];
  if (r.failures.length) lines.push('', 'failures:', ...r.failures);
  return lines.join('\n');
}
