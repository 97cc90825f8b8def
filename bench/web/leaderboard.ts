// Leaderboard render time with 100,000 stored runs: `tsx bench/web/leaderboard.ts [runs] [requests]`.
// Seeds a fresh Postgres database (bulk insert), starts the production web server on it (built into
// apps/web/.next-bench-web) and times full server renders of
// the home page for several URLs. Writes bench/results/web.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { countRuns, openDb, openTestPostgres } from '@kvbench/db';
import { generatedRuns, insertSeeded, storiesReferenceRuns } from './seed';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WEB = path.join(ROOT, 'apps/web');
const NEXT = path.join(ROOT, 'node_modules/next/dist/bin/next');
const RUNS = Number(process.argv[2] ?? 100_000);
const REQUESTS = Number(process.argv[3] ?? 15);

const URLS = [
  ['default (newest first, page 1, charts)', '/'],
  ['sorted by metric', '/?sort=score&order=asc'],
  ['one model + benchmark', '/?model=Llama-3.1-8B&benchmark=wikitext2'],
  ['search "qwen3-8b K4V2"', '/?q=qwen3-8b+K4V2'],
  ['deep page (page 1000)', '/?page=1000'],
  ['200 rows per page', '/?pageSize=200'],
] as const;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

// Its own build folder (beside any `next dev`), removed afterwards; KVBENCH_BENCH_REUSE_BUILD=1 keeps and reuses it.
const DIST_ENV = { KVBENCH_NEXT_DIST_DIR: '.next-bench-web', NEXT_TELEMETRY_DISABLED: '1' };
const REUSE_BUILD = process.env.KVBENCH_BENCH_REUSE_BUILD === '1';
if (!(REUSE_BUILD && existsSync(path.join(WEB, DIST_ENV.KVBENCH_NEXT_DIST_DIR, 'BUILD_ID')))) {
  const b = spawnSync(process.execPath, [NEXT, 'build'], { cwd: WEB, stdio: 'inherit', env: { ...process.env, ...DIST_ENV } });
  if (b.status !== 0) process.exit(1);
}

// KVBENCH_BENCH_DATABASE_URL reuses a database seeded by an earlier run (seeding takes a minute).
const reuse = process.env.KVBENCH_BENCH_DATABASE_URL;
const db = reuse ? { ...(await openDb({ databaseUrl: reuse })), url: reuse } : await openTestPostgres();
const t0 = performance.now();
if ((await countRuns(db.db)) < RUNS) await insertSeeded(db.db, [...storiesReferenceRuns(), ...generatedRuns(RUNS - 13)]);
const seedSeconds = (performance.now() - t0) / 1000;
// A served database has been vacuumed by autovacuum long since: index-only scans need the visibility map.
await db.db.execute('vacuum analyze runs');
const stored = await countRuns(db.db);
console.log(`${stored} runs stored; seeding took ${seedSeconds.toFixed(1)} s`);

const port = await freePort();
const server = spawn(process.execPath, [NEXT, 'start', '-p', String(port), '-H', '127.0.0.1'], {
  cwd: WEB,
  env: { ...process.env, ...DIST_ENV, DATABASE_URL: db.url, KVBENCH_QUEUE_PREFIX: 'kvbench-bench-web' },
  detached: true,
  stdio: 'ignore',
});
const base = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${base}/api/health`).catch(() => null))?.ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const rows: string[] = [];
  for (const [label, url] of URLS) {
    for (let i = 0; i < 3; i++) await (await fetch(base + url)).text(); // warm-up: compile caches, pool
    const times: number[] = [];
    let size = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const t = performance.now();
      const res = await fetch(base + url);
      const html = await res.text();
      times.push(performance.now() - t);
      size = html.length;
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    }
    const line = `| ${label} | \`${url}\` | ${quantile(times, 0.5).toFixed(0)} | ${quantile(times, 0.95).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${(size / 1024).toFixed(0)} |`;
    console.log(line);
    rows.push(line);
  }
  const report = `# Web: leaderboard server render with ${stored.toLocaleString('en')} runs

\`tsx bench/web/leaderboard.ts ${RUNS} ${REQUESTS}\` on ${new Date().toISOString().slice(0, 10)}: Postgres (local), \`next start\` (production build),
${REQUESTS} sequential requests per URL after 3 warm-up requests; time = full HTML response over loopback
(server render including every database query and the charts' data). Target: < 300 ms.
${reuse ? 'The database was seeded by an earlier run.' : `Seeding ${stored.toLocaleString('en')} runs by bulk insert (1000 rows a statement, 4 statements in flight) took ${seedSeconds.toFixed(1)} s.`}

| page | URL | median ms | p95 ms | min ms | HTML KiB |
|---|---|---:|---:|---:|---:|
${rows.join('\n')}

Notes
- A page is: the (model, benchmark) facets for the filters (db \`leaderboardFacets()\`, cached 15 s per server process),
  db \`leaderboard()\` for the page with its metrics, two queries for the whole page's full-precision
  baselines and K/V-swapped partners, and up to 500 chart points of one model and benchmark.
- Deep pages (\`?page=1000\`, OFFSET 49,950): \`leaderboard()\` picks the page's 50 ids first (ORDER BY the
  sort key, id over an index-only scan of \`runs_done_*_page_idx (key, id, protocol) where status = 'succeeded'\`),
  then reads those 50 rows; before, it sorted every succeeded run's full row.
- Facets: one loose index scan over \`runs_board_idx\` (db \`leaderboardFacets()\`), an index probe per pair.
- The database is vacuumed and analyzed after seeding (as autovacuum leaves a served one).
- Timings come from a shared 2-core machine; p95 moves with whatever else runs.
`;
  writeFileSync(path.join(ROOT, 'bench/results/web.md'), report);
  console.log('wrote bench/results/web.md');
} finally {
  try {
    process.kill(-server.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
  await db.close();
  if (!REUSE_BUILD) rmSync(path.join(WEB, DIST_ENV.KVBENCH_NEXT_DIST_DIR), { recursive: true, force: true });
}
