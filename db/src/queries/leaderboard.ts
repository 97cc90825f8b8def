// The leaderboard: succeeded runs, model x benchmark x (keyBits, valueBits) x backend, with KV memory per token.
import { and, asc, desc, eq, inArray, ne, sql, type SQL } from 'drizzle-orm';
import { RUN_BACKENDS } from '@kvbench/protocol';
import type { Db } from '../client';
import { runMetrics, runs } from '../schema';
import { runConfigColumns, withLabel } from './run-columns';

export const LEADERBOARD_SORTS = {
  score: runs.primaryValue,
  kvBytesPerToken: runs.kvBytesPerToken,
  ratioToFp16: runs.ratioToFp16,
  tokensPerSecond: runs.tokensPerSecond,
  wallSeconds: runs.wallSeconds,
  finishedAt: runs.finishedAt,
  model: runs.model,
  benchmark: runs.benchmark,
  keyBits: runs.keyBits,
  valueBits: runs.valueBits,
} as const;
export type LeaderboardSort = keyof typeof LEADERBOARD_SORTS;

export interface LeaderboardQuery {
  model?: string | string[];
  benchmark?: string | string[];
  backend?: string | string[];
  protocol?: string;
  provider?: string;
  keyBits?: number;
  valueBits?: number;
  sort?: LeaderboardSort;
  order?: 'asc' | 'desc';
  page?: number; // 1-based
  pageSize?: number; // max 500
  /** attach every metric of each row (one extra query for the page) */
  withMetrics?: boolean;
  /**
   * Free text, mapped onto the filters above (see `applyLeaderboardSearch`): "K4V2" picks bits, a backend
   * name picks the backend, any other word keeps the models (else benchmarks) whose names contain it.
   * Costs one `leaderboardFacets` read unless the caller passes its own facets.
   */
  search?: string;
}

export interface LeaderboardFacets {
  models: string[];
  benchmarks: string[];
  /** (model, benchmark) pairs that have runs (of any status), sorted by model then benchmark */
  pairs: { model: string; benchmark: string }[];
}

/**
 * The distinct (model, benchmark) pairs of every stored run. A loose index scan over runs_board_idx
 * (model, benchmark, ...): one index probe per pair instead of reading all rows.
 */
export async function leaderboardFacets(db: Db): Promise<LeaderboardFacets> {
  const result = await db.execute(sql`with recursive pairs(model, benchmark) as (
      (select ${runs.model}, ${runs.benchmark} from ${runs} order by 1, 2 limit 1)
      union all
      select next.model, next.benchmark from pairs, lateral (
        select r.model, r.benchmark from ${runs} r where (r.model, r.benchmark) > (pairs.model, pairs.benchmark) order by r.model, r.benchmark limit 1
      ) next
    ) select model, benchmark from pairs`);
  const pairs = (result as unknown as { rows: { model: string; benchmark: string }[] }).rows.map((r) => ({ model: r.model, benchmark: r.benchmark }));
  pairs.sort((a, b) => a.model.localeCompare(b.model) || a.benchmark.localeCompare(b.benchmark));
  return {
    models: [...new Set(pairs.map((r) => r.model))],
    benchmarks: [...new Set(pairs.map((r) => r.benchmark))].sort(),
    pairs,
  };
}

/** A model name no run has (Postgres text cannot hold NUL, so a readable impossible name). */
const NO_MATCH = '(no run matches this search)';

function intersect(current: string | string[] | undefined, next: string[]): string[] {
  if (current === undefined) return next;
  const have = new Set(Array.isArray(current) ? current : [current]);
  const both = next.filter((x) => have.has(x));
  return both.length ? both : [NO_MATCH];
}

/**
 * Free-text search mapped onto the leaderboard's filters: "K4V2" picks bits, a backend name picks the
 * backend, any other word keeps the models and benchmarks whose names contain it (case-insensitive).
 */
export function applyLeaderboardSearch(q: LeaderboardQuery, search: string, f: Pick<LeaderboardFacets, 'models' | 'benchmarks'>): LeaderboardQuery {
  const out: LeaderboardQuery = { ...q };
  delete out.search;
  for (const word of search.toLowerCase().split(/\s+/).filter(Boolean)) {
    const bits = /^k(\d+)v(\d+)$/.exec(word);
    if (bits) {
      out.keyBits = Number(bits[1]);
      out.valueBits = Number(bits[2]);
    } else if ((RUN_BACKENDS as readonly string[]).includes(word)) {
      out.backend = word;
    } else {
      const models = f.models.filter((m) => m.toLowerCase().includes(word));
      const benchmarks = f.benchmarks.filter((b) => b.toLowerCase().includes(word));
      if (models.length) out.model = intersect(out.model, models);
      else if (benchmarks.length) out.benchmark = intersect(out.benchmark, benchmarks);
      else out.model = [NO_MATCH];
    }
  }
  return out;
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export async function leaderboard(db: Db, query: LeaderboardQuery = {}, options: { facets?: Pick<LeaderboardFacets, 'models' | 'benchmarks'> } = {}) {
  const search = query.search?.trim();
  const q = search ? applyLeaderboardSearch(query, search, options.facets ?? (await leaderboardFacets(db))) : query;
  const where: SQL[] = [eq(runs.status, 'succeeded')];
  const inList = (col: typeof runs.model | typeof runs.benchmark, v: string | string[] | undefined) => {
    const values = list(v);
    if (values.length === 1) where.push(eq(col, values[0]));
    else if (values.length > 1) where.push(inArray(col, values));
  };
  inList(runs.model, q.model);
  inList(runs.benchmark, q.benchmark);
  const backends = list(q.backend);
  if (backends.length) {
    // full-precision rows have no backend; a backend filter keeps them as the baseline
    where.push(sql`(${runs.backend} in ${backends} or ${runs.backend} is null)`);
  }
  if (q.protocol) where.push(eq(runs.protocol, q.protocol));
  // Analyze runs (K/V norm diagnostics) have no benchmark score; they belong on the model page.
  else where.push(ne(runs.protocol, 'analyze'));
  if (q.provider) where.push(eq(runs.providerUsed, q.provider));
  if (q.keyBits !== undefined) where.push(eq(runs.keyBits, q.keyBits));
  if (q.valueBits !== undefined) where.push(eq(runs.valueBits, q.valueBits));
  const sortCol = LEADERBOARD_SORTS[q.sort ?? 'finishedAt'];
  // Perplexity: lower is better; default direction for score follows the metric where it is one kind.
  const order = q.order ?? (q.sort === 'score' || !q.sort ? 'desc' : 'asc');
  const pageSize = Math.min(Math.max(q.pageSize ?? 50, 1), 500);
  const page = Math.max(q.page ?? 1, 1);
  const cond = and(...where);
  const dir = order === 'asc' ? asc(sortCol) : desc(sortCol);
  // Deep pages: OFFSET over whole rows sorts every matching row's full width. The page's ids are chosen
  // first (sort key + id only: an index-only scan of runs_done_*_page_idx where one fits), then only those
  // rows are read and put back in the same order (the same ORDER BY over the page, so ties stay by id).
  const pageIds = db
    .$with('page_ids')
    .as(db.select({ id: runs.id }).from(runs).where(cond).orderBy(dir, asc(runs.id)).limit(pageSize).offset((page - 1) * pageSize));
  const [rows, [{ total }]] = await Promise.all([
    db
      .with(pageIds)
      .select({
        ...runConfigColumns,
        providerUsed: runs.providerUsed,
        device: runs.device,
        deviceClass: runs.deviceClass,
        metric: runs.primaryMetric,
        value: runs.primaryValue,
        stderr: runs.primaryStderr,
        kvBytesPerToken: runs.kvBytesPerToken,
        fp16BytesPerToken: runs.fp16BytesPerToken,
        ratioToFp16: runs.ratioToFp16,
        tokensPerSecond: runs.tokensPerSecond,
        wallSeconds: runs.wallSeconds,
        finishedAt: runs.finishedAt,
      })
      .from(runs)
      .where(inArray(runs.id, db.select({ id: pageIds.id }).from(pageIds)))
      .orderBy(dir, asc(runs.id)),
    db.select({ total: sql<number>`count(*)::int` }).from(runs).where(cond),
  ]);
  let withMetrics = rows.map((r) => ({ ...withLabel(r), metrics: {} as Record<string, { value: number; stderr: number | null }> }));
  if (q.withMetrics && rows.length) {
    const ms = await db.select().from(runMetrics).where(inArray(runMetrics.runId, rows.map((r) => r.id)));
    const byRun = new Map(withMetrics.map((r) => [r.id, r]));
    for (const m of ms) byRun.get(m.runId)!.metrics[m.name] = { value: m.value, stderr: m.stderr };
    withMetrics = [...byRun.values()];
  }
  return { rows: withMetrics, total: Number(total), page, pageSize };
}
