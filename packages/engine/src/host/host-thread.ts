// The evaluation loop of an EvaluationHost as a worker thread (host-loop.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { HostThreadConfig } from './host-protocol';
import { serveHost } from './host-loop';

const port = parentPort;
if (!port) throw new Error('host-thread.ts must run as a worker thread (see evaluation-host.ts)');
serveHost(
  {
    post: (message) => port.postMessage(message),
    onRequest: (handler) => port.on('message', handler),
    end: () => port.close(), // nothing left on the event loop: the thread ends
  },
  workerData as HostThreadConfig,
);
