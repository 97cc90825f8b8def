// The real stack for the browser tests: a fresh Postgres database, a unique queue prefix on the real
// Redis, the Next.js production server (next build once, next start on a free port) and a real
// inference worker running stories260K. Everything started here is stopped here, by process group id.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { openTestPostgres } from '@kvbench/db';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const WEB = path.join(ROOT, 'apps/web');
const DIST_DIR = '.next-dashboard-e2e';
const REUSE_BUILD = process.env.KVBENCH_E2E_REUSE_BUILD === '1';

export interface Stack {
  baseUrl: string;
  token: string;
  prefix: string;
  databaseUrl: string;
  /** seconds spent building the web app (0 when an existing build was reused) */
  buildSeconds: number;
  logs(): string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function start(name: string, command: string, args: string[], cwd: string, env: Record<string, string>, log: string[]): ChildProcess {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log.push(`[${name}] ${line}`);
    if (log.length > 2000) log.splice(0, log.length - 2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, signal); // the process group this file started
  } catch {
    return;
  }
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000));
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms\n${logs().slice(-4000)}`);
}

export async function startStack(): Promise<Stack> {
  const log: string[] = [];
  const logs = () => log.join('\n');
  const token = `e2e-${randomBytes(8).toString('hex')}`;
  const prefix = `kvbe2e-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const db = await openTestPostgres();
  // Its own build folder, so a `next dev` or another build in apps/web is never disturbed.
  const distEnv = { KVBENCH_NEXT_DIST_DIR: DIST_DIR, NEXT_TELEMETRY_DISABLED: '1' };
  const env = { ...distEnv, DATABASE_URL: db.url, KVBENCH_API_TOKEN: token, KVBENCH_QUEUE_PREFIX: prefix, KVBENCH_RECONCILE_MS: '5000' };

  // One production build per test run; KVBENCH_E2E_REUSE_BUILD=1 keeps and reuses it (local iteration).
  let buildSeconds = 0;
  if (!(REUSE_BUILD && existsSync(path.join(WEB, DIST_DIR, 'BUILD_ID')))) {
    const t0 = Date.now();
    const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/next/dist/bin/next'), 'build'], { cwd: WEB, env: { ...process.env, ...distEnv }, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
    buildSeconds = (Date.now() - t0) / 1000;
  }

  const port = await freePort();
  const web = start('web', process.execPath, [path.join(ROOT, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], WEB, env, log);
  const worker = start('worker', process.execPath, ['--import', 'tsx', 'workers/inference/src/main.ts', '--class', 'cpu'], ROOT, env, log);
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor('web server answering', async () => (await fetch(`${baseUrl}/api/health`).catch(() => null))?.ok === true, 60_000, logs);
    await waitFor('worker ready', () => log.some((l) => l.includes('worker ready')), 60_000, logs);
  } catch (err) {
    await Promise.all([stop(web), stop(worker, 'SIGINT')]);
    await db.close();
    throw err;
  }

  return {
    baseUrl,
    token,
    prefix,
    databaseUrl: db.url,
    buildSeconds,
    logs,
    async close() {
      await Promise.all([stop(worker, 'SIGINT'), stop(web)]);
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      await db.close();
      if (!REUSE_BUILD) rmSync(path.join(WEB, DIST_DIR), { recursive: true, force: true });
    },
  };
}
