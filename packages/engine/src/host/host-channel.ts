// How an EvaluationHost reaches its evaluation loop: a worker thread of this process (cheap to start,
// shares the process's ONNX Runtime) or a child process of its own. A process is what isolates ORT's
// process-wide state: the WebGPU provider's buffer cache mode is fixed by the first session of a
// process, so sessions that want the size-exact 'simple' cache run in one (docs/deploy.md).
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { HostMessage, HostRequest, HostThreadConfig } from './host-protocol';
import { startEngineThread } from './start-thread';

export type HostIsolation = 'thread' | 'process';

/** Emits 'message' (HostMessage), 'error' and 'exit' (code), like a Worker. */
export interface HostChannel extends EventEmitter {
  readonly isolation: HostIsolation;
  post(request: HostRequest): void;
  /** Whether the channel keeps the caller's process alive. */
  ref(): void;
  unref(): void;
  /** Ends the loop at once (a thread is terminated, a process killed). */
  stop(): void;
}

/**
 * Where bundled entries live ($KVBENCH_HOST_ENTRIES: host-thread.mjs and host-process.mjs, built with the
 * caller's bundle, as on the GPU machine where there is no tsx); unset: the TypeScript files through tsx.
 */
function bundledEntry(name: string): string | null {
  const dir = process.env.KVBENCH_HOST_ENTRIES;
  return dir ? join(dir, `${name}.mjs`) : null;
}

export function startHostChannel(isolation: HostIsolation, config: HostThreadConfig): HostChannel {
  return isolation === 'process' ? processChannel(config) : threadChannel(config);
}

function threadChannel(config: HostThreadConfig): HostChannel {
  const bundled = bundledEntry('host-thread');
  const thread = bundled ? new Worker(bundled, { workerData: config }) : startEngineThread(new URL('./host-thread.ts', import.meta.url), config);
  const channel = thread as unknown as HostChannel & Worker;
  Object.defineProperty(channel, 'isolation', { value: 'thread' });
  channel.post = (request) => thread.postMessage(request);
  channel.stop = () => void thread.terminate();
  return channel;
}

function processChannel(config: HostThreadConfig): HostChannel {
  const bundled = bundledEntry('host-process');
  let child: ChildProcess;
  if (bundled) {
    child = fork(bundled, [JSON.stringify(config)], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  } else {
    const require = createRequire(import.meta.url);
    const tsx = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
    const entry = fileURLToPath(new URL('./host-process.ts', import.meta.url));
    child = fork(entry, [JSON.stringify(config)], { execArgv: ['--import', tsx], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  const channel = new EventEmitter() as HostChannel;
  Object.defineProperty(channel, 'isolation', { value: 'process' });
  child.on('message', (m: HostMessage) => channel.emit('message', m));
  child.on('error', (e) => channel.emit('error', e));
  child.on('exit', (code, signal) => channel.emit('exit', code ?? signal));
  // An idle child must not keep the caller alive: both the process handle and its IPC pipe are unref'd.
  channel.ref = () => {
    child.ref();
    child.channel?.ref();
  };
  channel.unref = () => {
    child.unref();
    child.channel?.unref();
  };
  channel.post = (request) => {
    if (child.connected) child.send(request);
  };
  channel.stop = () => void child.kill('SIGKILL');
  return channel;
}
