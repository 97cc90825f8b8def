// The columns that identify a run and its cache configuration, as listed by the leaderboard and by a
// sweep's cells: one projection so both lists show the same fields under the same names.
import { sql } from 'drizzle-orm';
import { runLabel, type RunVariant } from '@kvbench/protocol';
import { runs } from '../schema';

/** The issue 6 variant fields of the stored config (rotation, turbo scheme, budget ...), only those present. */
const variantSql = sql<RunVariant>`jsonb_strip_nulls(jsonb_build_object(${sql.join(
  (['rotation', 'turboScheme', 'budget', 'bitRange', 'budgetScore', 'budgetSource', 'groupBudget'] as const).map((k) => sql`${sql.raw(`'${k}'`)}, ${runs.config}->${sql.raw(`'${k}'`)}`),
  sql`, `,
)}))`;

export const runConfigColumns = {
  id: runs.id,
  hash: runs.hash,
  status: runs.status,
  model: runs.model,
  benchmark: runs.benchmark,
  protocol: runs.protocol,
  keyBits: runs.keyBits,
  valueBits: runs.valueBits,
  backend: runs.backend,
  keyGroupSize: runs.keyGroupSize,
  valueGroupSize: runs.valueGroupSize,
  keyAxis: runs.keyAxis,
  valueAxis: runs.valueAxis,
  residualLength: runs.residualLength,
  limit: runs.limit,
  provider: runs.provider,
  variant: variantSql,
};

/** Adds the run's label (protocol's runLabel: "K4V2", "K4V2 WHT", "TQ-KQV 3b", "budget 4 (spectral)"). */
export function withLabel<T extends { keyBits: number; valueBits: number; backend: string | null; variant: RunVariant | null }>(row: T): T & { label: string } {
  return { ...row, variant: row.variant ?? {}, label: runLabel({ ...row, ...row.variant }) };
}
