// leaderboard() picks a page's ids first, then reads those rows: the same rows in the same order as the
// single full-row query it replaced (ORDER BY key, id LIMIT/OFFSET), with ties and nulls in every sort key.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, ne, sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyLeaderboardSearch,
  leaderboard,
  leaderboardFacets,
  LEADERBOARD_SORTS,
  openTestPglite,
  openTestPostgres,
  schema,
  type Db,
  type DbHandle,
  type LeaderboardQuery,
  type LeaderboardSort,
} from '../src/index';

const { runs } = schema;
const MODELS = ['Qwen3-8B', 'Llama-3.1-8B', 'stories260k'];
const BENCHMARKS = ['wikitext2', 'gsm8k'];
const BACKENDS = ['quanto', 'hqq', null];
const STATUSES = ['succeeded', 'succeeded', 'succeeded', 'failed', 'queued'] as const;

/** 240 runs whose sort keys take only a few values (many ties, some nulls), a few failed/queued/analyze. */
function seedRows(): (typeof runs.$inferInsert)[] {
  const t0 = Date.UTC(2026, 10, 1);
  return Array.from({ length: 240 }, (_, i) => {
    const status = STATUSES[i % STATUSES.length];
    const protocol = i % 17 === 0 ? 'analyze' : i % 2 ? 'ppl-decode' : 'mc-decode';
    const keyBits = [2, 4, 8][i % 3];
    const valueBits = [2, 4][(i >> 1) % 2];
    return {
      id: randomUUID(),
      hash: `h${i}`,
      config: {},
      model: MODELS[i % MODELS.length],
      benchmark: BENCHMARKS[(i >> 2) % BENCHMARKS.length],
      protocol,
      keyBits,
      valueBits,
      backend: BACKENDS[i % BACKENDS.length],
      limit: 10,
      provider: 'cpu',
      status,
      finishedAt: i % 23 === 0 ? null : new Date(t0 + (i % 7) * 60_000),
      primaryMetric: 'perplexity',
      primaryValue: i % 11 === 0 ? null : 10 + (i % 5),
      kvBytesPerToken: i % 13 === 0 ? null : 64 * (i % 4),
      ratioToFp16: (i % 4) / 4,
      tokensPerSecond: i % 19 === 0 ? null : 100 + (i % 3),
      wallSeconds: i % 6,
      providerUsed: i % 2 ? 'cpu' : 'cuda',
    };
  });
}

/** The query leaderboard() ran before: full rows sorted and paged in one statement. */
async function oldPageIds(db: Db, q: LeaderboardQuery): Promise<{ ids: string[]; total: number }> {
  const where: SQL[] = [eq(runs.status, 'succeeded')];
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  if (list(q.model).length) where.push(inArray(runs.model, list(q.model)));
  if (list(q.benchmark).length) where.push(inArray(runs.benchmark, list(q.benchmark)));
  if (list(q.backend).length) where.push(sql`(${runs.backend} in ${list(q.backend)} or ${runs.backend} is null)`);
  if (q.protocol) where.push(eq(runs.protocol, q.protocol));
  else where.push(ne(runs.protocol, 'analyze'));
  if (q.provider) where.push(eq(runs.providerUsed, q.provider));
  if (q.keyBits !== undefined) where.push(eq(runs.keyBits, q.keyBits));
  if (q.valueBits !== undefined) where.push(eq(runs.valueBits, q.valueBits));
  const sortCol = LEADERBOARD_SORTS[q.sort ?? 'finishedAt'];
  const order = q.order ?? (q.sort === 'score' || !q.sort ? 'desc' : 'asc');
  const pageSize = Math.min(Math.max(q.pageSize ?? 50, 1), 500);
  const page = Math.max(q.page ?? 1, 1);
  const rows = await db
    .select({ id: runs.id, model: runs.model })
    .from(runs)
    .where(and(...where))
    .orderBy(order === 'asc' ? asc(sortCol) : desc(sortCol), asc(runs.id))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  const [{ n }] = await db.select({ n: sql<number>`count(*)::int` }).from(runs).where(and(...where));
  return { ids: rows.map((r) => r.id), total: Number(n) };
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`leaderboard paging on ${kind}`, () => {
    let h: DbHandle;
    beforeAll(async () => {
      h = kind === 'postgres' ? await openTestPostgres() : await openTestPglite();
      await h.db.insert(runs).values(seedRows());
    });
    afterAll(async () => h?.close());

    it('returns the old query\'s rows in its order for every sort, order, filter and page (ties by id)', async () => {
      const filters: LeaderboardQuery[] = [
        {},
        { model: 'Qwen3-8B' },
        { model: ['Qwen3-8B', 'stories260k'], benchmark: 'gsm8k' },
        { backend: 'hqq' },
        { protocol: 'analyze' },
        { protocol: 'ppl-decode', provider: 'cpu' },
        { keyBits: 4, valueBits: 2 },
      ];
      let compared = 0;
      for (const f of filters) {
        for (const sort of [undefined, ...(Object.keys(LEADERBOARD_SORTS) as LeaderboardSort[])]) {
          for (const order of [undefined, 'asc', 'desc'] as const) {
            for (const [page, pageSize] of [[1, 50], [2, 7], [5, 7], [3, 20], [40, 7]]) {
              const q: LeaderboardQuery = { ...f, sort, order, page, pageSize };
              const [got, want] = await Promise.all([leaderboard(h.db, q), oldPageIds(h.db, q)]);
              expect(got.rows.map((r) => r.id), JSON.stringify(q)).toEqual(want.ids);
              expect(got.total).toBe(want.total);
              compared += want.ids.length;
            }
          }
        }
      }
      expect(compared).toBeGreaterThan(2000);
    });

    it('keeps metrics attached in page order', async () => {
      const board = await leaderboard(h.db, { sort: 'score', order: 'asc', page: 2, pageSize: 10, withMetrics: true });
      const want = await oldPageIds(h.db, { sort: 'score', order: 'asc', page: 2, pageSize: 10 });
      expect(board.rows.map((r) => r.id)).toEqual(want.ids);
      expect(board.rows.every((r) => typeof r.metrics === 'object')).toBe(true);
    });

    it('facets list every (model, benchmark) pair; search maps words onto filters', async () => {
      const f = await leaderboardFacets(h.db);
      const all = await h.db.selectDistinct({ model: runs.model, benchmark: runs.benchmark }).from(runs);
      expect(f.pairs.map((p) => `${p.model}|${p.benchmark}`).sort()).toEqual(all.map((p) => `${p.model}|${p.benchmark}`).sort());
      expect(f.models).toEqual([...new Set(f.pairs.map((p) => p.model))]);
      expect(f.benchmarks).toEqual([...new Set(all.map((p) => p.benchmark))].sort());

      const q = applyLeaderboardSearch({ benchmark: 'gsm8k' }, 'qwen3 K2V2 quanto', f);
      expect(q).toMatchObject({ model: ['Qwen3-8B'], benchmark: 'gsm8k', keyBits: 2, valueBits: 2, backend: 'quanto' });
      const searched = await leaderboard(h.db, { benchmark: 'gsm8k', search: ' qwen3 K2V2 quanto ' });
      const filtered = await leaderboard(h.db, q);
      expect(searched.rows.map((r) => r.id)).toEqual(filtered.rows.map((r) => r.id));
      expect(searched.total).toBeGreaterThan(0);
      expect((await leaderboard(h.db, { search: 'wiki' })).rows.every((r) => r.benchmark === 'wikitext2')).toBe(true);
      expect((await leaderboard(h.db, { search: 'no-such-model' })).total).toBe(0);
      expect((await leaderboard(h.db, { model: 'stories260k', search: 'qwen' })).total).toBe(0);
    });
  });
}
