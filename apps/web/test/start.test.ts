// `npm start` end to end: a fresh data dir (embedded PGlite), Next.js serving the API, the in-process
// CPU worker, and the demo sweep filling the leaderboard with real stories260K rows within a minute.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { main as cli } from '../../../packages/cli/src/main';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kvbench-start-'));
const distDir = `.next-e2e-${randomBytes(3).toString('hex')}`;
const prefix = `kvbs-${randomBytes(3).toString('hex')}`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let child: ReturnType<typeof spawn> | undefined;
let output = '';
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.on('exit', r));
  }
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(path.join(ROOT, 'apps/web', distDir), { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n--- npm start output\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm start', () => {
  it('starts the stack and the demo sweep puts real rows on the leaderboard within a minute', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), KVBENCH_DATA_DIR: dataDir, KVBENCH_QUEUE_PREFIX: prefix, KVBENCH_WEB_MODE: 'dev', KVBENCH_NEXT_DIST_DIR: distDir, NEXT_TELEMETRY_DISABLED: '1' };
    delete env.DATABASE_URL;
    delete env.KVBENCH_API_TOKEN;
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await until('ready', async () => (output.includes('[kvbench] ready') ? true : undefined), 120_000);
    expect(output).toMatch(/database: pglite .*pglite \(migrated\)/);
    expect(output).toMatch(/demo: the database was empty, so sweep [0-9a-f-]{36} queued 6 stories260K runs/);
    const base = `http://localhost:${port}`;
    const readyAt = Date.now();
    // through Next.js: the API answers, and writes need the token that start generated
    const health = await until('health', async () => {
      const r = await fetch(`${base}/api/health`);
      return r.status === 200 ? ((await r.json()) as { ok: boolean }) : undefined;
    }, 60_000);
    expect(health.ok).toBe(true);
    expect((await fetch(`${base}/api/runs`, { method: 'POST', body: '{}' })).status).toBe(401);
    const board = await until('a leaderboard row', async () => {
      const b = (await (await fetch(`${base}/api/leaderboard`)).json()) as { total: number; rows: { model: string; value: number }[] };
      return b.total >= 1 ? b : undefined;
    }, 60_000);
    expect(Date.now() - readyAt).toBeLessThan(60_000);
    expect(board.rows[0]).toMatchObject({ model: 'stories260k' });
    expect(board.rows[0].value).toBeGreaterThan(1);
    // the CLI finds the generated token under KVBENCH_DATA_DIR
    const lines: string[] = [];
    process.env.KVBENCH_DATA_DIR = dataDir;
    const code = await cli(['--api', base, 'submit', '--model', 'stories260k', '--benchmark', 'tinystories', '--bits', 'K4V2', '--limit', '8', '--group-size', '8', '--residual', '32', '--prompt', '32', '--max-tokens', '128'], { out: (t) => lines.push(t), err: (t) => lines.push(t), tty: false });
    delete process.env.KVBENCH_DATA_DIR;
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/joined|already done|queued/);
    const big = 'x'.repeat(2 * 1024 * 1024);
    expect((await fetch(`${base}/api/runs`, { method: 'POST', body: big })).status).toBeGreaterThanOrEqual(400);
    child.kill('SIGTERM');
    const exit = await new Promise((r) => child!.on('exit', (c) => r(c)));
    expect(exit).toBe(0);
    expect(output).toMatch(/SIGTERM: stopping/);
  });
});
