// The rows the leaderboard shows, flattened for CSV/JSON download (what is shown is what is downloaded).
import type { BoardEntry } from '../app/_data/board';
import { runDisplayLabel, variantText } from './format';

export interface ExportRow {
  runId: string;
  model: string;
  benchmark: string;
  protocol: string;
  bits: string;
  /** rotation / TurboQuant / budget settings in words ("" for a plain run) */
  variant: string;
  keyBits: number;
  valueBits: number;
  backend: string | null;
  keyGroupSize: number | null;
  valueGroupSize: number | null;
  keyAxis: string | null;
  valueAxis: string | null;
  residualLength: number | null;
  limit: number;
  metric: string | null;
  value: number | null;
  stderr: number | null;
  fullPrecision: number | null;
  delta: number | null;
  kvBytesPerToken: number | null;
  ratioToFp16: number | null;
  tokensPerSecond: number | null;
  provider: string | null;
  device: string | null;
  finishedAt: string | null;
}

export function exportRow(r: BoardEntry): ExportRow {
  return {
    runId: r.id,
    model: r.model,
    benchmark: r.benchmark,
    protocol: r.protocol,
    bits: runDisplayLabel(r),
    variant: variantText(r.variant),
    keyBits: r.keyBits,
    valueBits: r.valueBits,
    backend: r.backend,
    keyGroupSize: r.keyGroupSize,
    valueGroupSize: r.valueGroupSize,
    keyAxis: r.keyAxis,
    valueAxis: r.valueAxis,
    residualLength: r.residualLength,
    limit: r.limit,
    metric: r.metric,
    value: r.value,
    stderr: r.stderr,
    fullPrecision: r.baseline?.value ?? null,
    delta: r.delta,
    kvBytesPerToken: r.kvBytesPerToken,
    ratioToFp16: r.ratioToFp16,
    tokensPerSecond: r.tokensPerSecond,
    provider: r.providerUsed ?? r.provider,
    device: r.device,
    finishedAt: r.finishedAt ? new Date(r.finishedAt).toISOString() : null,
  };
}

/** RFC 4180: quote fields holding commas, quotes or line breaks. */
export const EXPORT_COLUMNS: (keyof ExportRow)[] = [
  'runId', 'model', 'benchmark', 'protocol', 'bits', 'variant', 'keyBits', 'valueBits', 'backend', 'keyGroupSize', 'valueGroupSize', 'keyAxis', 'valueAxis',
  'residualLength', 'limit', 'metric', 'value', 'stderr', 'fullPrecision', 'delta', 'kvBytesPerToken', 'ratioToFp16', 'tokensPerSecond', 'provider', 'device', 'finishedAt',
];

export function toCsv(rows: ExportRow[]): string {
  const columns = EXPORT_COLUMNS;
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
