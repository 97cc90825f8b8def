// Worker processes of the fleet simulation: `workers/inference/src/main.ts` spawned for real (so they can
// be SIGKILLed), one per slot, restarted after each exit. Busy time is read from the worker's own log
// lines (a job's "run <id> ... attempt N" to its outcome line or the process's death).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeviceClassName } from '@kvbench/protocol';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

const START = /run ([0-9a-f-]{36}) \(.*\) attempt (\d+)/;
const OUTCOME = /run ([0-9a-f-]{36}) (succeeded|was already written|failed for good|will be retried|failed|cancelled)\b/;

export interface JobSpan {
  runId: string;
  attempt: number;
  start: number;
  end?: number;
  /** the worker's outcome line, or 'killed' / 'exited' when the process ended first */
  outcome?: string;
}

export interface WorkerProc {
  slot: number;
  deviceClass: DeviceClassName;
  child: ChildProcess;
  spawnedAt: number;
  readyAt?: number;
  exitedAt?: number;
  exitCode?: number | null;
  exitSignal?: NodeJS.Signals | null;
  /** what the simulation sent it (undefined: it exited on its own) */
  sent?: 'SIGKILL' | 'SIGTERM';
  spans: JobSpan[];
  current?: JobSpan;
  exited: Promise<void>;
  tail: string[];
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** run GPU classes on the CPU provider (`--simulate-provider cpu`) */
  simulateProvider?: string;
  onLine?: (p: WorkerProc, line: string) => void;
}

export function spawnWorkerProcess(slot: number, deviceClass: DeviceClassName, o: SpawnOptions): WorkerProc {
  const args = ['--import', 'tsx', MAIN, '--class', deviceClass];
  if (o.simulateProvider) args.push('--simulate-provider', o.simulateProvider);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let resolveExit!: () => void;
  const p: WorkerProc = { slot, deviceClass, child, spawnedAt: Date.now(), spans: [], exited: new Promise((r) => (resolveExit = r)), tail: [] };
  const onText = (() => {
    let buf = '';
    return (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        onLine(p, line, Date.now());
        o.onLine?.(p, line);
      }
    };
  })();
  child.stdout!.on('data', onText);
  child.stderr!.on('data', onText);
  child.on('exit', (code, signal) => {
    p.exitedAt = Date.now();
    p.exitCode = code;
    p.exitSignal = signal;
    if (p.current) {
      p.current.end = p.exitedAt;
      p.current.outcome = signal === 'SIGKILL' ? 'killed' : 'exited';
      p.current = undefined;
    }
    resolveExit();
  });
  return p;
}

function onLine(p: WorkerProc, line: string, now: number): void {
  p.tail.push(line);
  if (p.tail.length > 40) p.tail.shift();
  if (!p.readyAt && line.startsWith('worker ready:')) p.readyAt = now;
  const s = START.exec(line);
  if (s) {
    if (p.current) {
      p.current.end = now;
      p.current.outcome ??= 'superseded';
    }
    p.current = { runId: s[1], attempt: Number(s[2]), start: now };
    p.spans.push(p.current);
    return;
  }
  const e = OUTCOME.exec(line);
  if (e && p.current?.runId === e[1]) {
    p.current.end = now;
    p.current.outcome = e[2];
    p.current = undefined;
  }
}

export function alive(p: WorkerProc | undefined): p is WorkerProc {
  return !!p && p.exitedAt === undefined;
}

/** Busy milliseconds of a process inside [from, to]. */
export function busyMs(p: WorkerProc, from: number, to: number): number {
  let ms = 0;
  for (const s of p.spans) ms += Math.max(0, Math.min(s.end ?? to, to) - Math.max(s.start, from));
  return ms;
}

export function lifetimeMs(p: WorkerProc, from: number, to: number): number {
  return Math.max(0, Math.min(p.exitedAt ?? to, to) - Math.max(p.spawnedAt, from));
}
