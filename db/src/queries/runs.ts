// Run rows: upsert by content hash, lifecycle transitions, progress, and the one-transaction result write.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { DeviceClassName, RunConfig, RunStatus } from '@kvbench/protocol';
import type { Db } from '../client';
import { benchmarks, layerStats, models, runMetrics, runs, samples, type NewRun, type Run } from '../schema';

export function newRunRow(config: RunConfig, hash: string, deviceClass: DeviceClassName | null): NewRun {
  return {
    id: randomUUID(),
    hash,
    config,
    model: config.model,
    benchmark: config.benchmark,
    protocol: config.protocol,
    keyBits: config.keyBits,
    valueBits: config.valueBits,
    backend: config.backend,
    keyGroupSize: config.keyGroupSize,
    valueGroupSize: config.valueGroupSize,
    keyAxis: config.keyAxis,
    valueAxis: config.valueAxis,
    residualLength: config.residualLength,
    limit: config.limit,
    provider: config.provider,
    deviceClass,
    status: 'queued',
    queuedAt: new Date(),
  };
}

/**
 * Inserts the run unless one with the same hash exists; returns the row either way. Concurrent
 * identical submissions all get the one row (the unique hash index decides).
 */
export async function upsertRun(db: Db, row: NewRun): Promise<{ run: Run; created: boolean }> {
  const inserted = await db.insert(runs).values(row).onConflictDoNothing({ target: runs.hash }).returning();
  if (inserted.length) return { run: inserted[0], created: true };
  const [existing] = await db.select().from(runs).where(eq(runs.hash, row.hash));
  return { run: existing, created: false };
}

/** The columns a sweep needs back for each cell (not the whole row: the config JSON stays in Postgres). */
export type RunCell = { id: string; hash: string; status: Run['status']; model: string; benchmark: string; keyBits: number; valueBits: number; deviceClass: string | null };

/**
 * Bulk form for sweeps: rows travel as one JSON parameter expanded by jsonb_to_recordset (building a
 * 1,000-row VALUES list in the query builder costs more than the insert itself); rows for existing
 * hashes are returned untouched.
 */
export async function upsertRuns(db: Db, rows: NewRun[]): Promise<{ runs: RunCell[]; created: Set<string> }> {
  const created = new Set<string>();
  const byHash = new Map<string, RunCell>();
  const toCell = (r: Record<string, unknown>): RunCell => ({
    id: r.id as string,
    hash: r.hash as string,
    status: r.status as Run['status'],
    model: r.model as string,
    benchmark: r.benchmark as string,
    keyBits: Number(r.key_bits),
    valueBits: Number(r.value_bits),
    deviceClass: (r.device_class as string | null) ?? null,
  });
  for (let i = 0; i < rows.length; i += 2000) {
    const chunk = rows.slice(i, i + 2000);
    const payload = JSON.stringify(
      chunk.map((r) => ({
        id: r.id, hash: r.hash, config: r.config, model: r.model, benchmark: r.benchmark, protocol: r.protocol,
        key_bits: r.keyBits, value_bits: r.valueBits, backend: r.backend ?? null, key_group_size: r.keyGroupSize ?? null,
        value_group_size: r.valueGroupSize ?? null, key_axis: r.keyAxis ?? null, value_axis: r.valueAxis ?? null,
        residual_length: r.residualLength ?? null, limit: r.limit, provider: r.provider, device_class: r.deviceClass ?? null,
      })),
    );
    const inserted = await db.execute(sql`
      insert into ${runs} (id, hash, config, model, benchmark, protocol, key_bits, value_bits, backend, key_group_size,
        value_group_size, key_axis, value_axis, residual_length, "limit", provider, device_class, status, queued_at)
      select id, hash, config, model, benchmark, protocol, key_bits, value_bits, backend, key_group_size,
        value_group_size, key_axis, value_axis, residual_length, "limit", provider, device_class, 'queued', now()
      from jsonb_to_recordset(${payload}::jsonb) as t(id text, hash text, config jsonb, model text, benchmark text, protocol text,
        key_bits int, value_bits int, backend text, key_group_size int, value_group_size int, key_axis text, value_axis text,
        residual_length int, "limit" int, provider text, device_class text)
      on conflict (hash) do nothing
      returning id, hash, status, model, benchmark, key_bits, value_bits, device_class`);
    for (const r of (inserted as unknown as { rows: Record<string, unknown>[] }).rows) {
      const cell = toCell(r);
      created.add(cell.hash);
      byHash.set(cell.hash, cell);
    }
    const missing = chunk.filter((r) => !byHash.has(r.hash)).map((r) => r.hash);
    if (missing.length) {
      const existing = await db.execute(sql`
        select id, hash, status, model, benchmark, key_bits, value_bits, device_class from ${runs}
        where hash in (select jsonb_array_elements_text(${JSON.stringify(missing)}::jsonb))`);
      for (const r of (existing as unknown as { rows: Record<string, unknown>[] }).rows) byHash.set(r.hash as string, toCell(r));
    }
  }
  return { runs: rows.map((r) => byHash.get(r.hash)!), created };
}

export async function getRun(db: Db, id: string): Promise<Run | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.select().from(runs).where(eq(runs.id, id));
  return row;
}

export async function getRunByHash(db: Db, hash: string): Promise<Run | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.hash, hash));
  return row;
}

/** A run id or its hash (the CLI accepts either). */
export async function findRun(db: Db, idOrHash: string): Promise<Run | undefined> {
  return isUuid(idOrHash) ? getRun(db, idOrHash) : /^[0-9a-f]{64}$/.test(idOrHash) ? getRunByHash(db, idOrHash) : undefined;
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

export async function getRunDetail(db: Db, id: string, opts: { samples?: number } = {}) {
  const run = await findRun(db, id);
  if (!run) return undefined;
  const [metrics, layers, sampleRows] = await Promise.all([
    db.select().from(runMetrics).where(eq(runMetrics.runId, run.id)).orderBy(asc(runMetrics.name)),
    db.select().from(layerStats).where(eq(layerStats.runId, run.id)).orderBy(asc(layerStats.layer), asc(layerStats.tensor), asc(layerStats.metric)),
    db.select().from(samples).where(eq(samples.runId, run.id)).orderBy(asc(samples.index)).limit(opts.samples ?? 20),
  ]);
  return { run, metrics, layerStats: layers, samples: sampleRows };
}

export async function listRuns(db: Db, opts: { status?: RunStatus; limit?: number } = {}): Promise<Run[]> {
  const q = db.select().from(runs).$dynamic();
  if (opts.status) q.where(eq(runs.status, opts.status));
  return q.orderBy(desc(runs.createdAt)).limit(Math.min(opts.limit ?? 100, 1000));
}

/** Puts a failed or cancelled run back in the queue state; returns it if it was changed. */
export async function requeueRun(db: Db, id: string): Promise<Run | undefined> {
  const [row] = await db
    .update(runs)
    .set({ status: 'queued', error: null, errorKind: null, attempts: 0, cancelRequested: false, queuedAt: new Date(), startedAt: null, finishedAt: null, updatedAt: new Date(), itemsDone: null, tokensDone: null, etaSeconds: null })
    .where(and(eq(runs.id, id), inArray(runs.status, ['failed', 'cancelled'])))
    .returning();
  return row;
}

/**
 * The worker takes the run: queued (or running, when a stalled job is picked up again) -> running.
 * Returns undefined when the run is finished or cancelled, so the job must not run.
 */
export async function markRunning(db: Db, id: string, workerId: string): Promise<Run | undefined> {
  const [row] = await db
    .update(runs)
    .set({ status: 'running', workerId, attempts: sql`${runs.attempts} + 1`, startedAt: new Date(), updatedAt: new Date(), error: null })
    .where(and(eq(runs.id, id), inArray(runs.status, ['queued', 'running']), eq(runs.cancelRequested, false)))
    .returning();
  return row;
}

export interface ProgressUpdate {
  itemsDone: number;
  itemsTotal: number;
  tokensDone: number;
  tokensPerSecond: number;
  etaSeconds: number | null;
}

export async function updateProgress(db: Db, id: string, p: ProgressUpdate): Promise<void> {
  await db
    .update(runs)
    .set({ ...p, updatedAt: new Date() })
    .where(and(eq(runs.id, id), eq(runs.status, 'running')));
}

/** Marks a run failed (or cancelled) unless it already succeeded. */
export async function markFinishedWithoutResult(
  db: Db,
  id: string,
  status: 'failed' | 'cancelled' | 'queued',
  error: string | null,
  errorKind: string | null,
): Promise<Run | undefined> {
  const [row] = await db
    .update(runs)
    .set({ status, error, errorKind, finishedAt: status === 'queued' ? null : new Date(), updatedAt: new Date() })
    .where(and(eq(runs.id, id), inArray(runs.status, ['queued', 'running'])))
    .returning();
  return row;
}

/** Flags a run for cancellation; a queued run becomes cancelled at once, a running one when the worker sees the flag. */
export async function requestCancel(db: Db, id: string): Promise<Run | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.update(runs).set({ cancelRequested: true, updatedAt: new Date() }).where(eq(runs.id, id)).returning();
    if (!row) return undefined;
    if (row.status === 'queued') {
      const [c] = await tx
        .update(runs)
        .set({ status: 'cancelled', errorKind: 'cancelled', error: 'cancelled before it started', finishedAt: new Date(), updatedAt: new Date() })
        .where(and(eq(runs.id, id), eq(runs.status, 'queued')))
        .returning();
      return c ?? row;
    }
    return row;
  });
}

/** What the worker writes when the engine returns (the shape of the engine's EvalResult it needs). */
export interface RunResultInput {
  metrics: { name: string; value: number; stderr?: number | null }[];
  primary: { name: string; value: number; stderr: number | null } | null;
  layerStats: { layer: number; tensor: 'k' | 'v'; metric: string; value: number }[];
  samples: { index: number; prompt: string; output?: string | null; reference?: string | null; correct?: boolean | null; nll?: number | null }[];
  kvBytesPerToken: number;
  fp16BytesPerToken: number;
  ratioToFp16: number;
  peakRssBytes: number;
  tokensPerSecond: number;
  wallSeconds: number;
  providerUsed: string;
  device: string;
  versions: Record<string, string>;
  modelArchitecture: string;
  weightsHash: string;
  dataHash: string;
  benchmarkItems: number;
  nonFinite: number;
  /** upserted into `models` (the model page reads it) */
  model?: { name: string; family?: string | null; architecture: string; layers?: number | null; kvHeads?: number | null; headDim?: number | null; params?: number | null; weightsHash: string };
  /** upserted into `benchmarks` */
  benchmark?: { name: string; protocol: string; format?: string | null; dataHash: string; items: number };
}

/**
 * Writes metrics, layer statistics and samples and marks the run succeeded, in one transaction.
 * Idempotent by run id: a second write (a stalled job re-run elsewhere) finds the run succeeded and
 * changes nothing, so there is never a duplicate result.
 */
export async function writeRunResult(db: Db, id: string, r: RunResultInput): Promise<boolean> {
  return db.transaction(async (tx) => {
    // Row lock: two writers for one run serialize here.
    const [locked] = await tx.select({ status: runs.status }).from(runs).where(eq(runs.id, id)).for('update');
    if (!locked || locked.status === 'succeeded') return false;
    await tx.delete(runMetrics).where(eq(runMetrics.runId, id));
    await tx.delete(layerStats).where(eq(layerStats.runId, id));
    await tx.delete(samples).where(eq(samples.runId, id));
    const finite = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? null : v);
    if (r.model) {
      const m = r.model;
      await tx.insert(models).values({ ...m }).onConflictDoUpdate({ target: models.name, set: { architecture: m.architecture, weightsHash: m.weightsHash, ...(m.layers ? { layers: m.layers, kvHeads: m.kvHeads, headDim: m.headDim, params: m.params } : {}) } });
    }
    if (r.benchmark) {
      const b = r.benchmark;
      await tx.insert(benchmarks).values({ ...b }).onConflictDoUpdate({ target: benchmarks.name, set: { dataHash: b.dataHash, items: sql`greatest(${benchmarks.items}, ${b.items})` } });
    }
    const metricRows = r.metrics.filter((m) => Number.isFinite(m.value)).map((m) => ({ runId: id, name: m.name, value: m.value, stderr: finite(m.stderr) }));
    if (metricRows.length) await tx.insert(runMetrics).values(metricRows);
    const layerRows = r.layerStats.filter((l) => Number.isFinite(l.value)).map((l) => ({ runId: id, ...l }));
    for (let i = 0; i < layerRows.length; i += 1000) await tx.insert(layerStats).values(layerRows.slice(i, i + 1000));
    const sampleRows = r.samples.map((s) => ({ runId: id, index: s.index, prompt: s.prompt, output: s.output ?? null, reference: s.reference ?? null, correct: s.correct ?? null, nll: finite(s.nll) }));
    for (let i = 0; i < sampleRows.length; i += 500) await tx.insert(samples).values(sampleRows.slice(i, i + 500));
    await tx
      .update(runs)
      .set({
        status: 'succeeded',
        error: null,
        errorKind: null,
        finishedAt: new Date(),
        updatedAt: new Date(),
        primaryMetric: r.primary?.name ?? null,
        primaryValue: finite(r.primary?.value),
        primaryStderr: finite(r.primary?.stderr),
        kvBytesPerToken: r.kvBytesPerToken,
        fp16BytesPerToken: r.fp16BytesPerToken,
        ratioToFp16: r.ratioToFp16,
        peakRssBytes: Math.round(r.peakRssBytes),
        tokensPerSecond: r.tokensPerSecond,
        wallSeconds: r.wallSeconds,
        providerUsed: r.providerUsed,
        device: r.device,
        versions: r.versions,
        modelArchitecture: r.modelArchitecture,
        weightsHash: r.weightsHash,
        dataHash: r.dataHash,
        benchmarkItems: r.benchmarkItems,
        nonFinite: r.nonFinite,
        etaSeconds: 0,
      })
      .where(eq(runs.id, id));
    return true;
  });
}

/** Counts by status (the /metrics endpoint and the health check). */
export async function runStatusCounts(db: Db): Promise<Record<RunStatus, number>> {
  const rows = await db.select({ status: runs.status, n: sql<number>`count(*)::int` }).from(runs).groupBy(runs.status);
  const out = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 } as Record<RunStatus, number>;
  for (const r of rows) out[r.status as RunStatus] = Number(r.n);
  return out;
}

/** Wall-time histogram of succeeded runs for Prometheus (cumulative buckets, seconds). */
export async function runDurationHistogram(db: Db, buckets: number[]): Promise<{ buckets: { le: number; count: number }[]; count: number; sum: number }> {
  const cols = buckets.map((b, i) => sql`count(*) filter (where ${runs.wallSeconds} <= ${b})::int as ${sql.raw(`b${i}`)}`);
  const result = await db.execute(
    sql`select count(*)::int as n, coalesce(sum(${runs.wallSeconds}), 0)::float8 as s, ${sql.join(cols, sql`, `)} from ${runs} where ${runs.status} = 'succeeded' and ${runs.wallSeconds} is not null`,
  );
  const row = (result as unknown as { rows: Record<string, unknown>[] }).rows[0] ?? {};
  return { buckets: buckets.map((le, i) => ({ le, count: Number(row[`b${i}`] ?? 0) })), count: Number(row.n ?? 0), sum: Number(row.s ?? 0) };
}

export async function countRuns(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(runs);
  return Number(row.n);
}

/** Runs that should have a job (queued, or running with a lost worker): the reconciler re-adds them. */
export async function runsNeedingJobs(db: Db, deviceClass: DeviceClassName, limit = 5000): Promise<Pick<Run, 'id' | 'hash' | 'status' | 'model' | 'updatedAt'>[]> {
  return db
    .select({ id: runs.id, hash: runs.hash, status: runs.status, model: runs.model, updatedAt: runs.updatedAt })
    .from(runs)
    .where(and(eq(runs.deviceClass, deviceClass), inArray(runs.status, ['queued', 'running']), eq(runs.cancelRequested, false)))
    .orderBy(asc(runs.model), asc(runs.createdAt))
    .limit(limit);
}

/** How many rows each result table holds for a run, and how many runs share its hash (tests, audits). */
export async function resultRowCounts(db: Db, runId: string): Promise<{ runsWithHash: number; metrics: number; layerStats: number; samples: number }> {
  const result = await db.execute(sql`select
    (select count(*) from ${runs} where ${runs.hash} = (select ${runs.hash} from ${runs} where ${runs.id} = ${runId}))::int as runs_with_hash,
    (select count(*) from ${runMetrics} where ${runMetrics.runId} = ${runId})::int as metrics,
    (select count(*) from ${layerStats} where ${layerStats.runId} = ${runId})::int as layer_stats,
    (select count(*) from ${samples} where ${samples.runId} = ${runId})::int as samples`);
  const row = (result as unknown as { rows: Record<string, number>[] }).rows[0];
  return { runsWithHash: Number(row.runs_with_hash), metrics: Number(row.metrics), layerStats: Number(row.layer_stats), samples: Number(row.samples) };
}
