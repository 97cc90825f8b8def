// Sweeps: a row per distinct spec, its cells as shared run rows (identical cells are never re-run).
import { randomUUID } from 'node:crypto';
import { and, asc, avg, eq, inArray, sql } from 'drizzle-orm';
import {
  canonicalJson,
  estimateRunSeconds,
  guessTokensPerSecond,
  planMemory,
  sha256Hex,
  shapeOf,
  type DeviceClassName,
  type SweepExpansion,
} from '@kvbench/protocol';
import type { Db } from '../client';
import { runs, sweepRuns, sweeps, type Run, type Sweep } from '../schema';
import { newRunRow, upsertRuns, type RunCell } from './runs';
import { runConfigColumns, withLabel } from './run-columns';

export function sweepSpecHash(expansion: SweepExpansion): string {
  return sha256Hex(canonicalJson({ spec: expansion.spec, cells: expansion.cells.map((c) => c.hash) }));
}

export interface PlannedCell {
  hash: string;
  deviceClass: DeviceClassName | null;
  reason: string;
}

export function planCells(expansion: SweepExpansion): PlannedCell[] {
  return expansion.cells.map((c) => {
    const plan = planMemory(c.config);
    return { hash: c.hash, deviceClass: plan.deviceClass, reason: plan.reason };
  });
}

export interface SweepPreview {
  cells: number;
  duplicates: number;
  skipped: SweepExpansion['skipped'];
  alreadyDone: number;
  inProgress: number;
  toRun: number;
  unplaceable: { model: string; reason: string }[];
  models: { model: string; deviceClass: DeviceClassName | null; reason: string; cells: number; kvBytesPerToken: number[]; estimatedSeconds: number; tokensPerSecond: number; measured: boolean }[];
  byDeviceClass: Record<string, { cells: number; estimatedSeconds: number }>;
  estimatedSeconds: number;
}

/** What a sweep would do, without doing it: cells, those already done, device classes and time. */
export async function previewSweep(db: Db, expansion: SweepExpansion): Promise<SweepPreview> {
  const hashes = expansion.cells.map((c) => c.hash);
  const existing = new Map<string, string>();
  for (let i = 0; i < hashes.length; i += 1000) {
    const chunk = hashes.slice(i, i + 1000);
    for (const r of await db.select({ hash: runs.hash, status: runs.status }).from(runs).where(inArray(runs.hash, chunk))) existing.set(r.hash, r.status);
  }
  // Measured throughput of earlier runs beats the guess.
  const measured = new Map<string, number>();
  const models = [...new Set(expansion.cells.map((c) => c.config.model))];
  if (models.length) {
    const rows = await db
      .select({ model: runs.model, deviceClass: runs.deviceClass, tps: avg(runs.tokensPerSecond) })
      .from(runs)
      .where(and(inArray(runs.model, models), eq(runs.status, 'succeeded')))
      .groupBy(runs.model, runs.deviceClass);
    for (const r of rows) if (r.tps != null) measured.set(`${r.model}\0${r.deviceClass}`, Number(r.tps));
  }
  const perModel = new Map<string, SweepPreview['models'][number]>();
  const byDeviceClass: SweepPreview['byDeviceClass'] = {};
  let alreadyDone = 0;
  let inProgress = 0;
  let total = 0;
  for (const cell of expansion.cells) {
    const status = existing.get(cell.hash);
    const plan = planMemory(cell.config);
    const key = `${cell.config.model}\0${plan.deviceClass}`;
    const tps = measured.get(key) ?? guessTokensPerSecond(plan.deviceClass, shapeOf(cell.config));
    let m = perModel.get(cell.config.model);
    if (!m) {
      m = { model: cell.config.model, deviceClass: plan.deviceClass, reason: plan.reason, cells: 0, kvBytesPerToken: [], estimatedSeconds: 0, tokensPerSecond: tps, measured: measured.has(key) };
      perModel.set(cell.config.model, m);
    }
    m.cells++;
    if (!m.kvBytesPerToken.includes(plan.kvBytesPerToken)) m.kvBytesPerToken.push(plan.kvBytesPerToken);
    if (status === 'succeeded') {
      alreadyDone++;
      continue;
    }
    if (status === 'queued' || status === 'running') {
      inProgress++;
      continue;
    }
    const seconds = estimateRunSeconds(cell.config, tps);
    m.estimatedSeconds += seconds;
    total += seconds;
    const cls = plan.deviceClass ?? 'none';
    byDeviceClass[cls] ??= { cells: 0, estimatedSeconds: 0 };
    byDeviceClass[cls].cells++;
    byDeviceClass[cls].estimatedSeconds += seconds;
  }
  const modelList = [...perModel.values()];
  return {
    cells: expansion.cells.length,
    duplicates: expansion.duplicates,
    skipped: expansion.skipped,
    alreadyDone,
    inProgress,
    toRun: expansion.cells.length - alreadyDone - inProgress,
    unplaceable: modelList.filter((m) => !m.deviceClass).map((m) => ({ model: m.model, reason: m.reason })),
    models: modelList,
    byDeviceClass,
    estimatedSeconds: total,
  };
}

/**
 * Creates the sweep (or returns the existing one for the same spec) and upserts its cells as runs,
 * model-major. Returns every cell's run and whether it was new.
 */
export async function createSweep(
  db: Db,
  expansion: SweepExpansion,
  planned: PlannedCell[] = planCells(expansion),
): Promise<{ sweep: Sweep; created: boolean; runs: RunCell[]; newRuns: Set<string> }> {
  const specHash = sweepSpecHash(expansion);
  const rows = expansion.cells.map((c, i) => newRunRow(c.config, c.hash, planned[i].deviceClass));
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(sweeps)
      .values({ id: randomUUID(), name: expansion.spec.name ?? null, spec: expansion.spec, specHash, cellCount: rows.length })
      .onConflictDoNothing({ target: sweeps.specHash })
      .returning();
    const sweep = inserted[0] ?? (await tx.select().from(sweeps).where(eq(sweeps.specHash, specHash)))[0];
    const { runs: cellRuns, created } = await upsertRuns(tx as unknown as Db, rows);
    const ids = JSON.stringify(cellRuns.map((r) => r.id));
    await tx.execute(sql`insert into ${sweepRuns} (sweep_id, run_id, position)
      select ${sweep.id}, value, (ordinality - 1)::int from jsonb_array_elements_text(${ids}::jsonb) with ordinality
      on conflict do nothing`);
    return { sweep, created: inserted.length > 0, runs: cellRuns, newRuns: created };
  });
}

export async function getSweep(db: Db, id: string) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const [sweep] = await db.select().from(sweeps).where(eq(sweeps.id, id));
  if (!sweep) return undefined;
  const rows = await db
    .select({
      ...runConfigColumns,
      deviceClass: runs.deviceClass,
      itemsDone: runs.itemsDone,
      itemsTotal: runs.itemsTotal,
      tokensPerSecond: runs.tokensPerSecond,
      etaSeconds: runs.etaSeconds,
      primaryMetric: runs.primaryMetric,
      primaryValue: runs.primaryValue,
      primaryStderr: runs.primaryStderr,
      kvBytesPerToken: runs.kvBytesPerToken,
      ratioToFp16: runs.ratioToFp16,
      error: runs.error,
      position: sweepRuns.position,
    })
    .from(sweepRuns)
    .innerJoin(runs, eq(runs.id, sweepRuns.runId))
    .where(eq(sweepRuns.sweepId, id))
    .orderBy(asc(sweepRuns.position));
  const cells = rows.map(withLabel);
  const counts = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const c of cells) counts[c.status]++;
  return { sweep, counts, cells };
}

export async function sweepRunIds(db: Db, sweepId: string, statuses: Run['status'][]): Promise<string[]> {
  const rows = await db
    .select({ id: runs.id })
    .from(sweepRuns)
    .innerJoin(runs, eq(runs.id, sweepRuns.runId))
    .where(and(eq(sweepRuns.sweepId, sweepId), inArray(runs.status, statuses)))
    .orderBy(asc(sweepRuns.position));
  return rows.map((r) => r.id);
}

export async function sweepsOfRun(db: Db, runId: string): Promise<string[]> {
  const rows = await db.select({ id: sweepRuns.sweepId }).from(sweepRuns).where(eq(sweepRuns.runId, runId));
  return rows.map((r) => r.id);
}

export async function listSweeps(db: Db, limit = 50) {
  return db
    .select({ id: sweeps.id, name: sweeps.name, cellCount: sweeps.cellCount, createdAt: sweeps.createdAt, succeeded: sql<number>`count(*) filter (where ${runs.status} = 'succeeded')::int`, failed: sql<number>`count(*) filter (where ${runs.status} = 'failed')::int` })
    .from(sweeps)
    .leftJoin(sweepRuns, eq(sweepRuns.sweepId, sweeps.id))
    .leftJoin(runs, eq(runs.id, sweepRuns.runId))
    .groupBy(sweeps.id)
    .orderBy(sql`${sweeps.createdAt} desc`)
    .limit(limit);
}
