// Analyze runs (protocol 'analyze'): the K/V norm and spectrum diagnostics of a model, for its page.
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../client';
import { layerStats, runMetrics, runs, type LayerStatRow, type Run, type RunMetric } from '../schema';

/** The most recent succeeded analyze run of a model, with its layer_stats and run_metrics; undefined if none. */
export async function latestAnalysis(db: Db, model: string): Promise<{ run: Run; layerStats: LayerStatRow[]; metrics: RunMetric[] } | undefined> {
  const [run] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.model, model), eq(runs.protocol, 'analyze'), eq(runs.status, 'succeeded')))
    .orderBy(desc(runs.finishedAt))
    .limit(1);
  if (!run) return undefined;
  const [stats, metrics] = await Promise.all([
    db.select().from(layerStats).where(eq(layerStats.runId, run.id)),
    db.select().from(runMetrics).where(eq(runMetrics.runId, run.id)),
  ]);
  return { run, layerStats: stats, metrics };
}
