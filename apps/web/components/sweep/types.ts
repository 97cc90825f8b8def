// A sweep cell as the sweep page shows it (the JSON of GET /api/sweeps/:id).
export type CellStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface SweepCell {
  id: string;
  hash: string;
  status: CellStatus;
  model: string;
  benchmark: string;
  protocol: string;
  keyBits: number;
  valueBits: number;
  backend: string | null;
  keyGroupSize: number | null;
  valueGroupSize: number | null;
  keyAxis: string | null;
  valueAxis: string | null;
  residualLength: number | null;
  limit: number;
  itemsDone: number | null;
  itemsTotal: number | null;
  tokensPerSecond: number | null;
  etaSeconds: number | null;
  primaryMetric: string | null;
  primaryValue: number | null;
  primaryStderr: number | null;
  kvBytesPerToken: number | null;
  ratioToFp16: number | null;
  error: string | null;
  position: number;
}

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
