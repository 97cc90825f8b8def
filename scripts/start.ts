// `npm start`: the whole stack in one process on one machine.
//   1. the database (Postgres from DATABASE_URL, else embedded PGlite under $KVBENCH_DATA_DIR/pglite), migrated;
//   2. Redis from REDIS_URL (default redis://127.0.0.1:6379); if none answers, a local redis-server is
//      started when one is installed, else we stop and say how to get one;
//   3. the web app (dashboard + API) on $PORT (default 3000), through Next.js in this process;
//   4. one CPU worker (KVBENCH_WORKERS=0 to run none);
//   5. on an empty database, a small demo sweep on stories260K so the leaderboard fills within a minute.
// Why one process: embedded PGlite can be opened by one process only, so the web app and the worker
// share its handle (kept on globalThis). With DATABASE_URL set, more workers can run elsewhere
// (`DATABASE_URL=... npm start -w @kvbench/inference-worker -- --class cpu`, or docker compose).
// Web mode: `next start` when a production build exists (apps/web/.next/BUILD_ID, from `npm run build -w
// @kvbench/web`), else `next dev` (Turbopack compiles each page on first request, so it starts in seconds
// without a minutes-long build). KVBENCH_WEB_MODE=dev|prod forces one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { countRuns, dataDir, openDb, setDb } from '@kvbench/db';
import { RunQueues, redisUrl, startInferenceWorker, type InferenceWorker } from '@kvbench/inference-worker';
import { submitSweep } from '../apps/web/lib/runs';
import { setQueues } from '../apps/web/lib/services';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB_DIR = path.join(ROOT, 'apps/web');
const log = (line: string) => console.log(`[kvbench] ${line}`);

/** The demo: every K/V split of interest on the bundled model, small enough to finish in about a minute. */
export const DEMO_SWEEP = {
  name: 'demo: stories260K K/V bit splits',
  models: ['stories260k'],
  benchmarks: ['tinystories'],
  pairs: ['K16V16', 'K8V8', 'K4V4', 'K4V2', 'K2V4', 'K2V2'],
  groupSizes: [8],
  residualLengths: [32],
  base: { prompt: 32, maxTokens: 128, limit: 8 },
};

async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function ensureRedis(dir: string): Promise<ChildProcess | null> {
  const url = redisUrl();
  if (await ping(url)) {
    log(`redis: ${url}`);
    return null;
  }
  const u = new URL(url);
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname);
  const installed = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!local || !installed) {
    console.error(`[kvbench] no Redis answers at ${url}.
  ${local ? 'redis-server is not installed. Get one of:' : 'Start it, or point REDIS_URL at one that runs. Options:'}
    Debian/Ubuntu:  sudo apt-get install -y redis-server
    macOS:          brew install redis
    Docker:         docker run -d -p 6379:6379 redis:7 redis-server --appendonly yes --maxmemory-policy noeviction
  then run \`npm start\` again (or set REDIS_URL=redis://host:port).`);
    process.exit(1);
  }
  const redisDir = path.join(dir, 'redis');
  mkdirSync(redisDir, { recursive: true });
  const port = u.port || '6379';
  log(`redis: none at ${url}; starting redis-server on port ${port} (data in ${redisDir}, AOF on, noeviction)`);
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--save', ''], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (await ping(url)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error('[kvbench] redis-server did not start');
  process.exit(1);
}

async function checkRedisPolicy(url: string) {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    const [, policy] = (await r.config('GET', 'maxmemory-policy')) as string[];
    if (policy && policy !== 'noeviction') log(`warning: Redis maxmemory-policy is ${policy}; BullMQ needs noeviction (jobs can be evicted otherwise)`);
  } catch {
    // CONFIG may be disabled on managed Redis
  } finally {
    r.disconnect();
  }
}

function ensureToken(dir: string): void {
  if (process.env.KVBENCH_API_TOKEN) return;
  const file = path.join(dir, 'api-token');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  process.env.KVBENCH_API_TOKEN = readFileSync(file, 'utf8').trim();
  log(`api token: none in KVBENCH_API_TOKEN, so one was generated in ${file} (the CLI reads it from there)`);
}

/** Newest modification time of the sources a web build depends on. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === '.next' || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['apps/web/app', 'apps/web/lib', 'apps/web/components', 'packages/protocol/src', 'db/src', 'workers/inference/src']) walk(path.join(ROOT, d));
  return newest;
}

/** `next start` only with a build newer than the sources; a stale build would serve old code. */
function webMode(): 'dev' | 'prod' {
  const forced = process.env.KVBENCH_WEB_MODE;
  if (forced === 'dev' || forced === 'prod') return forced;
  const buildId = path.join(WEB_DIR, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return 'dev';
  if (statSync(buildId).mtimeMs < newestSource()) {
    log('web: the production build is older than the sources, so using next dev (run `npm run build -w @kvbench/web` for next start)');
    return 'dev';
  }
  return 'prod';
}

async function startWeb(port: number): Promise<http.Server> {
  const mode = webMode();
  const { default: next } = await import('next');
  const app = next({ dev: mode === 'dev', dir: WEB_DIR, hostname: 'localhost', port, turbopack: mode === 'dev' } as Parameters<typeof next>[0]);
  await app.prepare();
  const handler = app.getRequestHandler();
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  log(`web: http://localhost:${port} (next ${mode === 'dev' ? 'dev' : 'start'})`);
  return server;
}

async function main() {
  const dir = dataDir();
  mkdirSync(dir, { recursive: true });
  const port = Number(process.env.PORT ?? 3000);
  ensureToken(dir);

  const db = await openDb();
  setDb(db);
  log(`database: ${db.kind} ${db.location} (migrated)`);

  const redisChild = await ensureRedis(dir);
  await checkRedisPolicy(redisUrl());
  const queues = new RunQueues();
  setQueues(queues);

  const server = await startWeb(port);

  const workerCount = Number(process.env.KVBENCH_WORKERS ?? 1);
  const workers: InferenceWorker[] = [];
  for (let i = 0; i < workerCount; i++) {
    workers.push(await startInferenceWorker({ db: db.db, deviceClass: 'cpu', concurrency: Number(process.env.KVBENCH_WORKER_CONCURRENCY ?? 1), log: (l) => log(`worker: ${l}`) }));
  }

  if ((await countRuns(db.db)) === 0 && process.env.KVBENCH_DEMO !== '0') {
    const sweep = await submitSweep({ db: db.db, queues }, DEMO_SWEEP);
    log(`demo: the database was empty, so sweep ${sweep.id} queued ${sweep.cells} stories260K runs; watch with \`npm run kvbench -- status --sweep ${sweep.id} --watch\``);
  }
  log(`ready: http://localhost:${port}  (API: /api/leaderboard, /api/health; metrics: /metrics)`);

  let stopping = 0;
  const stop = async (signal: string) => {
    if (++stopping > 1) {
      log(`${signal} again: releasing running jobs and exiting`);
      await Promise.all(workers.map((w) => w.release().catch(() => {})));
      process.exit(1);
    }
    log(`${signal}: stopping (running jobs finish first; press Ctrl-C again to release them)`);
    server.close();
    server.closeAllConnections();
    await Promise.all(workers.map((w) => w.drain().catch(() => {})));
    await queues.close().catch(() => {});
    await db.close().catch(() => {});
    redisChild?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

await main();
