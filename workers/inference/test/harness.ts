// Test harness for the worker: a fresh Postgres database, a unique queue prefix (or a private Redis),
// worker processes spawned for real (so they can be SIGKILLed), and a TCP proxy that can cut Postgres.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { getRun, newRunRow, upsertRun, type Db, type Run } from '@kvbench/db';
import { canonicalRun, planMemory } from '@kvbench/protocol';
import type { RunQueues } from '../src/index';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MAIN = path.join(ROOT, 'workers/inference/src/main.ts');

export const uniquePrefix = () => `kvbw-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function waitForStatus(db: Db, id: string, statuses: Run['status'][], timeoutMs = 60_000): Promise<Run> {
  return waitFor(`run ${id} to be ${statuses.join('|')}`, async () => {
    const r = await getRun(db, id);
    return r && statuses.includes(r.status) ? r : undefined;
  }, timeoutMs);
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `workers/inference/src/main.ts` as its own process. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...process.env, KVBENCH_LOCK_MS: '4000', KVBENCH_STALLED_MS: '2000', KVBENCH_RECONCILE_MS: '1000', KVBENCH_PROGRESS_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGKILL');
  await w.exited;
}

/** A private redis-server (so restarting it cannot disturb anyone else's Redis). */
export class PrivateRedis {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'kvbench-redis-'));
  proc?: ChildProcess;
  constructor(
    readonly port: number,
    readonly aof: boolean,
  ) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start() {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--dir', this.dir, '--appendonly', this.aof ? 'yes' : 'no', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    await waitFor('redis to answer', async () => {
      const r = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    }, 10_000);
  }
  async stop() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = undefined;
    const exited = new Promise((r) => p.on('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A TCP proxy in front of Postgres; `cut()` drops every connection and refuses new ones until `restore()`. */
export class CuttableProxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  private down = false;
  port = 0;
  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}
  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (this.down) return client.destroy();
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }
  cut() {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
  restore() {
    this.down = false;
  }
  async close() {
    this.cut();
    await new Promise((r) => this.server?.close(r));
  }
}

/** Canonicalizes, plans, stores and enqueues one run as the API does (worker tests do not import the web app). */
export async function submitRun(db: Db, queues: RunQueues, input: Record<string, unknown>): Promise<Run> {
  const { config, hash } = canonicalRun(input);
  const deviceClass = planMemory(config).deviceClass!;
  const { run } = await upsertRun(db, newRunRow(config, hash, deviceClass));
  await queues.enqueue([{ runId: run.id, hash, deviceClass }]);
  return run;
}

/** Deletes every Redis key of a test's queue prefix and closes the queues (Redis may be down after a restart test). */
export async function dropQueues(queues: RunQueues, prefix: string): Promise<void> {
  const keys = await queues.connection.keys(`${prefix}:*`).catch(() => [] as string[]);
  if (keys.length) await queues.connection.del(...keys);
  await queues.close();
}
