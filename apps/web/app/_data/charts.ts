// Points for the quality charts of one model and benchmark (succeeded runs, fewest bytes first).
import { leaderboard, type Db } from '@kvbench/db';
import type { QualityPoint } from '../../components/charts/quality-point';
import { lowerIsBetter, runDisplayLabel, variantText } from '../../components/format';
import type { BoardRow } from './board';

export interface ChartData {
  model: string;
  benchmark: string;
  metric: string;
  lowerIsBetter: boolean;
  points: QualityPoint[];
  /** more runs exist than were plotted */
  truncated: boolean;
}

export const FULL_PRECISION_VARIANT = 'full precision';

/** The settings other than bits, in words; the rotation, turbo scheme and budget make variants of their own. */
export function variantLabel(r: Pick<BoardRow, 'backend' | 'keyAxis' | 'valueAxis' | 'keyGroupSize' | 'valueGroupSize' | 'residualLength' | 'limit' | 'variant'>): string {
  if (!r.backend) return FULL_PRECISION_VARIANT;
  const axis = (a: string | null) => (a === 'per-channel' ? 'ch' : 'tok');
  const group = (g: number | null) => g ?? 'var';
  const layout = r.backend === 'turbo' ? '' : ` K:${axis(r.keyAxis)}/${group(r.keyGroupSize)} V:${axis(r.valueAxis)}/${group(r.valueGroupSize)}`;
  const extra = variantText(r.variant);
  return `${r.backend}${layout}${extra ? ` ${extra}` : ''} R${r.residualLength} n${r.limit}`;
}

export async function chartData(db: Db, model: string, benchmark: string, max = 500): Promise<ChartData | null> {
  const board = await leaderboard(db, { model, benchmark, sort: 'kvBytesPerToken', order: 'asc', pageSize: max });
  const rows = board.rows.filter((r) => r.value !== null && r.kvBytesPerToken !== null);
  if (!rows.length) return null;
  // Several metrics can share a benchmark (protocol changes); chart the most common one.
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.metric ?? '', (counts.get(r.metric ?? '') ?? 0) + 1);
  const metric = [...counts].sort((a, b) => b[1] - a[1])[0][0];
  const points = rows
    .filter((r) => (r.metric ?? '') === metric)
    .map((r) => ({
      id: r.id,
      label: runDisplayLabel(r),
      keyBits: r.keyBits,
      valueBits: r.valueBits,
      kvBytesPerToken: r.kvBytesPerToken!,
      value: r.value!,
      stderr: r.stderr,
      variant: variantLabel(r),
    }));
  return { model, benchmark, metric, lowerIsBetter: lowerIsBetter(metric), points, truncated: board.total > max };
}
