// The long-lived evaluation thread of an EvaluationHost: runs jobs one at a time, each through
// runEvaluation with this thread's model cache and session pool, and posts progress, then the result or
// the error. A job that fails or is aborted leaves the thread ready for the next one.
import { parentPort, workerData } from 'node:worker_threads';
import { runEvaluation } from '../protocols/run-evaluation';
import { emptyCounters, type HostMessage, type HostRequest, type HostThreadConfig, type ThreadState } from './host-protocol';
import { ModelCache } from './model-cache';
import { SessionPool } from './session-pool';
import { serializeError } from './thread-errors';

const port = parentPort;
if (!port) throw new Error('host-thread.ts must run as a worker thread (see evaluation-host.ts)');
const post = (message: HostMessage) => port.postMessage(message);
const config = workerData as HostThreadConfig;
const counters = emptyCounters();
const models = new ModelCache(config.maxModels, new SessionPool(config.maxSessions, counters), counters);
const state = (): ThreadState => ({ counters: { ...counters }, loadedModels: models.loadedModels() });

async function handle(request: HostRequest): Promise<void> {
  if (request.type === 'close') {
    await models.close();
    post({ type: 'closed', state: state() });
    port!.close(); // nothing left on the event loop: the thread ends
    return;
  }
  const { id, options, internal, abortFlag } = request;
  if (request.crashThread) {
    setImmediate(() => {
      throw new Error('evaluation thread crashed on request (test)');
    });
    return;
  }
  counters.jobs++;
  try {
    const result = await runEvaluation(options, internal, (progress) => post({ type: 'progress', id, progress }), () => Atomics.load(abortFlag, 0) === 1, models.resources());
    await models.afterJob();
    post({ type: 'result', id, result, state: state() });
  } catch (error) {
    // An aborted job stopped between steps; any other failure may have left a session mid-update, so
    // the pooled sessions go (the loaded models stay).
    if ((error as Error)?.name !== 'AbortError') await models.sessions.clear().catch(() => {});
    await models.afterJob().catch(() => {});
    post({ type: 'error', id, error: serializeError(error), state: state() });
  }
}

// Jobs run strictly one after another, in the order the host sent them.
let queue = Promise.resolve();
port.on('message', (request: HostRequest) => {
  queue = queue.then(() => handle(request));
});
