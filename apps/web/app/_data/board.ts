// The leaderboard page's data: one page of succeeded runs (db `leaderboard`), each row with its delta to
// the same model's full-precision cache and its key/value-swapped partner (K4V2 <-> K2V4) when stored.
import { leaderboard, leaderboardFacets, LEADERBOARD_SORTS, type Db, type LeaderboardFacets, type LeaderboardQuery, type LeaderboardSort } from '@kvbench/db';
import { ValidationError, canonicalJson, runLabel, runVariant, type RunVariant } from '@kvbench/protocol';
import { parseLeaderboardParams } from '../../lib/runs';
import { lowerIsBetter, runDisplayLabel } from '../../components/format';

export type BoardRow = Awaited<ReturnType<typeof leaderboard>>['rows'][number];

export interface BoardEntry extends BoardRow {
  /** the full-precision value this row is compared with, and where it came from */
  baseline: { value: number; source: 'paired' | 'run'; runId?: string } | null;
  delta: number | null;
  /** the same settings with keyBits and valueBits swapped */
  partnerId: string | null;
  partnerLabel: string | null;
}

export type Facets = LeaderboardFacets;

export interface BoardPage {
  query: LeaderboardQuery;
  search: string;
  rows: BoardEntry[];
  total: number;
  page: number;
  pageSize: number;
  facets: Facets;
  error: string | null;
}

type VariantSettings = Pick<BoardRow, 'backend' | 'keyGroupSize' | 'valueGroupSize' | 'keyAxis' | 'valueAxis' | 'residualLength' | 'limit' | 'protocol'> & {
  /** a leaderboard row's config variant, or the stored config it comes from */
  variant?: RunVariant | null;
  config?: unknown;
};

/** Settings that must match for two runs to be "the same config but for the bits" (the rotation, turbo scheme and budget too). */
export function variantKey(r: VariantSettings): string {
  return [r.protocol, r.backend, r.keyGroupSize, r.valueGroupSize, r.keyAxis, r.valueAxis, r.residualLength, r.limit, canonicalJson(r.variant ?? runVariant(r.config))].join('|');
}

/** Partner matching ignores the K/V-specific group sizes and axes being swapped: they stay per tensor. */
function partnerKey(r: Pick<BoardRow, 'model' | 'benchmark' | 'keyBits' | 'valueBits'> & VariantSettings, swap: boolean): string {
  const [k, v] = swap ? [r.valueBits, r.keyBits] : [r.keyBits, r.valueBits];
  return [r.model, r.benchmark, k, v, variantKey(r)].join('|');
}

// The filter dropdowns can be a few seconds stale, so one answer (db `leaderboardFacets`) serves all
// requests for FACETS_TTL_MS.
const FACETS_TTL_MS = 15_000;
let facetsCache: { at: number; value: Promise<Facets> } | null = null;

export function facets(db: Db): Promise<Facets> {
  const now = Date.now();
  if (!facetsCache || now - facetsCache.at > FACETS_TTL_MS) {
    const value = leaderboardFacets(db);
    facetsCache = { at: now, value };
    value.catch(() => {
      facetsCache = null;
    });
  }
  return facetsCache.value;
}

export async function loadBoard(db: Db, params: URLSearchParams): Promise<BoardPage> {
  const f = await facets(db);
  const search = (params.get('q') ?? '').trim();
  let query: LeaderboardQuery;
  let error: string | null = null;
  try {
    query = parseLeaderboardParams(params);
  } catch (err) {
    error = err instanceof ValidationError ? err.issues.map((i) => `${i.field}: ${i.message}`).join('; ') : String(err);
    query = {};
  }
  query.withMetrics = true;
  // db `leaderboard` maps the search words onto filters, with this process's cached facets.
  const board = await leaderboard(db, { ...query, search }, { facets: f });
  const rows = await annotate(db, board.rows);
  return { query, search, rows, total: board.total, page: board.page, pageSize: board.pageSize, facets: f, error };
}

/** Adds baseline/delta and the swapped partner to each row of a page. */
async function annotate(db: Db, rows: BoardRow[]): Promise<BoardEntry[]> {
  const groups = new Map<string, { model: string; benchmark: string }>();
  for (const r of rows) groups.set(`${r.model}|${r.benchmark}`, { model: r.model, benchmark: r.benchmark });
  // Two queries for the whole page: the full-precision runs of its (model, benchmark) pairs, and the
  // runs with swapped bits of its asymmetric rows (drizzle's query API supplies the operators).
  const pairs = [...groups.values()];
  const swaps = [...new Map(rows.filter((r) => r.keyBits !== r.valueBits).map((r) => [`${r.model}|${r.benchmark}|${r.keyBits}|${r.valueBits}`, r])).values()];
  const columns = { id: true, model: true, benchmark: true, keyBits: true, valueBits: true, backend: true, keyGroupSize: true, valueGroupSize: true, keyAxis: true, valueAxis: true, residualLength: true, limit: true, protocol: true, primaryValue: true, finishedAt: true, config: true } as const;
  const [fpRows, partnerRows] = await Promise.all([
    pairs.length
      ? db.query.runs.findMany({
          columns,
          where: (t, { and, eq, or }) => and(eq(t.status, 'succeeded'), eq(t.keyBits, 16), eq(t.valueBits, 16), or(...pairs.map((g) => and(eq(t.model, g.model), eq(t.benchmark, g.benchmark))))),
          orderBy: (t, { desc }) => [desc(t.finishedAt)],
          limit: 1000,
        })
      : [],
    swaps.length
      ? db.query.runs.findMany({
          columns,
          where: (t, { and, eq, or }) => and(eq(t.status, 'succeeded'), or(...swaps.map((r) => and(eq(t.model, r.model), eq(t.benchmark, r.benchmark), eq(t.keyBits, r.valueBits), eq(t.valueBits, r.keyBits))))),
          orderBy: (t, { desc }) => [desc(t.finishedAt)],
          limit: 5000,
        })
      : [],
  ]);
  const fullPrecision = new Map<string, FullPrecisionRun[]>();
  for (const f of fpRows) {
    const key = `${f.model}|${f.benchmark}`;
    fullPrecision.set(key, [...(fullPrecision.get(key) ?? []), { id: f.id, limit: f.limit, protocol: f.protocol, value: f.primaryValue }]);
  }
  const partners = new Map<string, { id: string; label: string }>();
  for (const p of partnerRows) {
    if (!partners.has(partnerKey(p, false))) partners.set(partnerKey(p, false), { id: p.id, label: runDisplayLabel({ ...p, label: runLabel({ ...p, ...runVariant(p.config) }) }) });
  }
  return rows.map((r) => {
    const baseline = baselineOf(r, fullPrecision.get(`${r.model}|${r.benchmark}`) ?? []);
    const delta = baseline && r.value !== null ? r.value - baseline.value : null;
    const partner = r.keyBits !== r.valueBits ? (partners.get(partnerKey(r, true)) ?? null) : null;
    return { ...r, baseline, delta, partnerId: partner?.id ?? null, partnerLabel: partner?.label ?? null };
  });
}

/**
 * The full-precision reference: the value measured on the same tokens inside the run (perplexityFp /
 * accuracyFp) when the protocol records it, else the same model's fp16 run with the same item limit.
 */
interface FullPrecisionRun {
  id: string;
  limit: number;
  protocol: string;
  value: number | null;
}

function baselineOf(r: BoardRow, fp: FullPrecisionRun[]): BoardEntry['baseline'] {
  if (r.keyBits === 16 && r.valueBits === 16) return null;
  const paired = r.metric ? r.metrics[`${r.metric}Fp`] : undefined;
  if (paired && Number.isFinite(paired.value)) return { value: paired.value, source: 'paired' };
  const same = fp.find((f) => f.limit === r.limit && f.protocol === r.protocol && f.value !== null);
  if (same && same.value !== null) return { value: same.value, source: 'run', runId: same.id };
  return null;
}

/** Whether a delta is an improvement for this metric. */
export function deltaIsGood(metric: string | null, delta: number): boolean {
  return lowerIsBetter(metric) ? delta <= 0 : delta >= 0;
}

export const SORTS = Object.keys(LEADERBOARD_SORTS) as LeaderboardSort[];

/** The stored run with the same settings but keyBits and valueBits swapped (K2V4 for K4V2), if any. */
export async function findPartner(db: Db, r: Pick<BoardRow, 'model' | 'benchmark' | 'keyBits' | 'valueBits'> & VariantSettings): Promise<{ id: string; label: string } | null> {
  if (r.keyBits === r.valueBits) return null;
  const found = await leaderboard(db, { model: r.model, benchmark: r.benchmark, keyBits: r.valueBits, valueBits: r.keyBits, pageSize: 500 });
  const want = variantKey(r);
  const p = found.rows.find((row) => variantKey(row) === want);
  return p ? { id: p.id, label: runDisplayLabel(p) } : null;
}
