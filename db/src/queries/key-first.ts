// Key-first comparison (issue 6 item 2; Hariri et al., Theorem 2): within a sweep, every cell
// (b, b') with b > b' is paired with (b', b) run under otherwise identical settings (model, benchmark,
// protocol, backend, group sizes, axes, residual, limit, ...), and the difference of the headline
// metric is reported with its standard error.
//
// The standard error is paired where both runs stored per-item values for the same items (samples:
// `nll` per document for ppl-decode, `correct` per item for accuracy protocols): the items are the same
// documents/questions, so the per-item differences carry the comparison and their spread is the honest
// error (much smaller than treating the runs as independent). Otherwise it falls back to the
// independent sqrt(se1^2 + se2^2) from the runs' own stderr; `stderrMethod` says which.
import { asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client';
import { runs, samples, sweepRuns, sweeps, type Run } from '../schema';

/** Lower is better for perplexity-like metrics, higher for accuracies. */
export function lowerIsBetter(metric: string | null): boolean {
  return metric === 'perplexity' || metric === 'kl' || metric === 'nllDelta';
}

export interface PerItem {
  /** item index -> value (per-document mean NLL per token, or 1/0 for correct) */
  values: Map<number, number>;
  kind: 'nll' | 'correct';
}

export type StderrMethod = 'paired' | 'independent' | 'none';

export interface PairedDifference {
  /** keyFirst - valueFirst in the headline metric */
  difference: number | null;
  stderr: number | null;
  stderrMethod: StderrMethod;
  /** items both runs scored (the pairs behind a paired stderr) */
  pairedItems: number;
  /** ppl-decode: mean per-document NLL difference (keyFirst - valueFirst) and its paired stderr */
  nllDifference?: number;
  nllDifferenceStderr?: number;
}

function meanAndStderr(xs: readonly number[]): { mean: number; stderr: number | null } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, stderr: null };
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, stderr: Math.sqrt(variance / n) };
}

/**
 * The difference A - B of one headline metric and its standard error.
 * - accuracy (per-item correct): d_i = c_A,i - c_B,i; difference = mean d (over the common items),
 *   paired stderr = sd(d) / sqrt(n), sample sd with n - 1.
 * - perplexity (per-document mean NLL): difference = ppl_A - ppl_B from the runs' values; paired stderr
 *   by the delta method (ppl = exp(mean NLL), d ppl / d NLL = ppl): z_i = ppl_A * nll_A,i - ppl_B * nll_B,i,
 *   stderr = sd(z) / sqrt(n). The NLL-scale difference mean(nll_A,i - nll_B,i) and its stderr come too.
 * Fewer than 2 common items, or no per-item values: independent sqrt(se_A^2 + se_B^2) when both runs
 * have a stderr, else none.
 */
export function pairedDifference(
  metric: string | null,
  a: { value: number | null; stderr: number | null; items: PerItem | null },
  b: { value: number | null; stderr: number | null; items: PerItem | null },
): PairedDifference {
  const common: number[] = [];
  if (a.items && b.items && a.items.kind === b.items.kind) {
    for (const i of a.items.values.keys()) if (b.items.values.has(i)) common.push(i);
    common.sort((x, y) => x - y);
  }
  const independent = (difference: number | null): PairedDifference => ({
    difference,
    stderr: difference !== null && a.stderr != null && b.stderr != null ? Math.sqrt(a.stderr ** 2 + b.stderr ** 2) : null,
    stderrMethod: difference !== null && a.stderr != null && b.stderr != null ? 'independent' : 'none',
    pairedItems: common.length,
  });
  if (common.length < 2 || !a.items || !b.items) return independent(a.value !== null && b.value !== null ? a.value - b.value : null);
  const va = common.map((i) => a.items!.values.get(i)!);
  const vb = common.map((i) => b.items!.values.get(i)!);
  if (a.items.kind === 'correct') {
    const d = meanAndStderr(va.map((x, i) => x - vb[i]));
    // The difference of accuracies over the common items (equals value_A - value_B when both ran the same items).
    return { difference: d.mean, stderr: d.stderr, stderrMethod: 'paired', pairedItems: common.length };
  }
  if (metric !== 'perplexity' || a.value === null || b.value === null) return independent(a.value !== null && b.value !== null ? a.value - b.value : null);
  const nll = meanAndStderr(va.map((x, i) => x - vb[i]));
  const z = meanAndStderr(va.map((x, i) => a.value! * x - b.value! * vb[i]));
  return {
    difference: a.value - b.value,
    stderr: z.stderr,
    stderrMethod: 'paired',
    pairedItems: common.length,
    nllDifference: nll.mean,
    ...(nll.stderr !== null ? { nllDifferenceStderr: nll.stderr } : {}),
  };
}

export interface KeyFirstCell {
  runId: string;
  keyBits: number;
  valueBits: number;
  status: Run['status'];
  value: number | null;
  stderr: number | null;
  kvBytesPerToken: number | null;
}

export interface KeyFirstPair extends PairedDifference {
  model: string;
  benchmark: string;
  protocol: string;
  backend: string | null;
  keyGroupSize: number | null;
  valueGroupSize: number | null;
  keyAxis: string | null;
  valueAxis: string | null;
  residualLength: number | null;
  metric: string | null;
  /** (b, b') with b > b': more bits for keys */
  keyFirst: KeyFirstCell;
  /** (b', b) */
  valueFirst: KeyFirstCell;
  /** true when the key-first cell scored better (lower perplexity, higher accuracy); null when not both finished */
  keyFirstBetter: boolean | null;
}

export interface KeyFirstReport {
  sweepId: string;
  pairs: KeyFirstPair[];
  /** asymmetric cells whose mirror is not in the sweep */
  unpaired: { runId: string; keyBits: number; valueBits: number }[];
  summary: { pairs: number; compared: number; keyFirstBetter: number; paired: number; independent: number };
}

/** Everything in a canonical config but the bits: cells with equal keys differ only in (b_K, b_V). */
export function pairingKey(config: unknown): string {
  const { keyBits: _k, valueBits: _v, ...rest } = config as Record<string, unknown>;
  return JSON.stringify(Object.keys(rest).sort().map((k) => [k, rest[k]]));
}

function perItem(rows: { index: number; nll: number | null; correct: boolean | null }[], protocol: string): PerItem | null {
  const kind: PerItem['kind'] = protocol === 'ppl-decode' ? 'nll' : 'correct';
  const values = new Map<number, number>();
  for (const r of rows) {
    const v = kind === 'nll' ? r.nll : r.correct === null ? null : r.correct ? 1 : 0;
    if (v !== null && Number.isFinite(v)) values.set(r.index, v);
  }
  return values.size ? { kind, values } : null;
}

/** The key-first report of one sweep, or undefined when there is no such sweep. */
export async function keyFirstComparison(db: Db, sweepId: string): Promise<KeyFirstReport | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(sweepId)) return undefined;
  const cells = await db
    .select({ run: runs })
    .from(sweepRuns)
    .innerJoin(runs, eq(runs.id, sweepRuns.runId))
    .where(eq(sweepRuns.sweepId, sweepId))
    .orderBy(asc(sweepRuns.position));
  if (cells.length === 0) {
    const [exists] = await db.select({ id: sweeps.id }).from(sweeps).where(eq(sweeps.id, sweepId));
    if (!exists) return undefined;
  }
  const byKey = new Map<string, Run[]>();
  for (const { run } of cells) {
    const key = pairingKey(run.config);
    byKey.set(key, [...(byKey.get(key) ?? []), run]);
  }
  const matches: [Run, Run][] = [];
  const unpaired: KeyFirstReport['unpaired'] = [];
  for (const group of byKey.values()) {
    for (const a of group) {
      if (a.keyBits <= a.valueBits) continue;
      const b = group.find((r) => r.keyBits === a.valueBits && r.valueBits === a.keyBits);
      if (b) matches.push([a, b]);
      else unpaired.push({ runId: a.id, keyBits: a.keyBits, valueBits: a.valueBits });
    }
    for (const b of group) {
      if (b.keyBits < b.valueBits && !group.some((r) => r.keyBits === b.valueBits && r.valueBits === b.keyBits)) {
        unpaired.push({ runId: b.id, keyBits: b.keyBits, valueBits: b.valueBits });
      }
    }
  }
  const ids = [...new Set(matches.flatMap(([a, b]) => (a.status === 'succeeded' && b.status === 'succeeded' ? [a.id, b.id] : [])))];
  const sampleRows = ids.length
    ? await db.select({ runId: samples.runId, index: samples.index, nll: samples.nll, correct: samples.correct }).from(samples).where(inArray(samples.runId, ids))
    : [];
  const rowsOf = new Map<string, typeof sampleRows>();
  for (const r of sampleRows) rowsOf.set(r.runId, [...(rowsOf.get(r.runId) ?? []), r]);

  const cell = (r: Run): KeyFirstCell => ({
    runId: r.id,
    keyBits: r.keyBits,
    valueBits: r.valueBits,
    status: r.status,
    value: r.status === 'succeeded' ? r.primaryValue : null,
    stderr: r.status === 'succeeded' ? r.primaryStderr : null,
    kvBytesPerToken: r.kvBytesPerToken,
  });
  const pairs: KeyFirstPair[] = matches.map(([a, b]) => {
    const metric = a.primaryMetric ?? b.primaryMetric;
    const done = a.status === 'succeeded' && b.status === 'succeeded';
    const diff = done
      ? pairedDifference(
          metric,
          { value: a.primaryValue, stderr: a.primaryStderr, items: perItem(rowsOf.get(a.id) ?? [], a.protocol) },
          { value: b.primaryValue, stderr: b.primaryStderr, items: perItem(rowsOf.get(b.id) ?? [], b.protocol) },
        )
      : { difference: null, stderr: null, stderrMethod: 'none' as const, pairedItems: 0 };
    const keyFirstBetter = diff.difference === null ? null : lowerIsBetter(metric) ? diff.difference < 0 : diff.difference > 0;
    return {
      model: a.model,
      benchmark: a.benchmark,
      protocol: a.protocol,
      backend: a.backend,
      keyGroupSize: a.keyGroupSize,
      valueGroupSize: a.valueGroupSize,
      keyAxis: a.keyAxis,
      valueAxis: a.valueAxis,
      residualLength: a.residualLength,
      metric,
      keyFirst: cell(a),
      valueFirst: cell(b),
      ...diff,
      keyFirstBetter,
    };
  });
  pairs.sort((x, y) => x.model.localeCompare(y.model) || x.keyFirst.keyBits - y.keyFirst.keyBits || x.keyFirst.valueBits - y.keyFirst.valueBits);
  const compared = pairs.filter((p) => p.difference !== null);
  return {
    sweepId,
    pairs,
    unpaired,
    summary: {
      pairs: pairs.length,
      compared: compared.length,
      keyFirstBetter: compared.filter((p) => p.keyFirstBetter).length,
      paired: compared.filter((p) => p.stderrMethod === 'paired').length,
      independent: compared.filter((p) => p.stderrMethod === 'independent').length,
    },
  };
}
