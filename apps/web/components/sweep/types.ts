// A sweep cell as the sweep page shows it (the JSON of GET /api/sweeps/:id): the run row's fields, typed
// from the Drizzle schema (type-only import: nothing of the db package reaches the browser).
import type { Run } from '@kvbench/db';
import type { RunVariant } from '@kvbench/protocol';

export type CellStatus = Run['status'];

export type SweepCell = Pick<
  Run,
  | 'id'
  | 'hash'
  | 'status'
  | 'model'
  | 'benchmark'
  | 'protocol'
  | 'keyBits'
  | 'valueBits'
  | 'backend'
  | 'keyGroupSize'
  | 'valueGroupSize'
  | 'keyAxis'
  | 'valueAxis'
  | 'residualLength'
  | 'limit'
  | 'itemsDone'
  | 'itemsTotal'
  | 'tokensPerSecond'
  | 'etaSeconds'
  | 'primaryMetric'
  | 'primaryValue'
  | 'primaryStderr'
  | 'kvBytesPerToken'
  | 'ratioToFp16'
  | 'error'
> & {
  position: number;
  /** protocol's runLabel ("K4V2", "TQ-KQV 3b", "budget 4 (spectral)") and the config variant it reads */
  label: string;
  variant: RunVariant;
};

export interface SweepSnapshot {
  id: string;
  name: string | null;
  cellCount: number;
  counts: Record<CellStatus, number>;
  cells: SweepCell[];
}

export const STATUSES: CellStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function countStatuses(cells: SweepCell[]): Record<CellStatus, number> {
  const out = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const c of cells) out[c.status]++;
  return out;
}
