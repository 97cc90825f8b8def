// The evaluation loop behind an EvaluationHost, in a worker thread (host-thread.ts) or a child process
// (host-process.ts): runs jobs one at a time, each through runEvaluation with this loop's model cache
// and session pool, and posts progress, then the result or the error. A job that fails or is aborted
// leaves the loop ready for the next one.
import { runEvaluation } from '../protocols/run-evaluation';
import { emptyCounters, type HostMessage, type HostRequest, type HostThreadConfig, type ThreadState } from './host-protocol';
import { ModelCache } from './model-cache';
import { SessionPool } from './session-pool';
import { serializeError } from './thread-errors';

export interface HostPort {
  post(message: HostMessage): void;
  onRequest(handler: (request: HostRequest) => void): void;
  /** Called once the loop closed: nothing of it may keep the thread or process alive. */
  end(): void;
}

export function serveHost(port: HostPort, config: HostThreadConfig): void {
  const counters = emptyCounters();
  const models = new ModelCache(config.maxModels, new SessionPool(config.maxSessions, counters), counters);
  const state = (): ThreadState => ({ counters: { ...counters }, loadedModels: models.loadedModels(), pid: process.pid });
  const abortFlags = new Map<number, Int32Array>();

  async function handle(request: Exclude<HostRequest, { type: 'abort' }>): Promise<void> {
    if (request.type === 'close') {
      await models.close();
      port.post({ type: 'closed', state: state() });
      port.end();
      return;
    }
    const { id, options, internal } = request;
    if (request.crashThread) {
      setImmediate(() => {
        throw new Error('evaluation thread crashed on request (test)');
      });
      return;
    }
    const abortFlag = abortFlags.get(id)!;
    counters.jobs++;
    try {
      const result = await runEvaluation(options, internal, (progress) => port.post({ type: 'progress', id, progress }), () => Atomics.load(abortFlag, 0) === 1, models.resources());
      await models.afterJob();
      port.post({ type: 'result', id, result, state: state() });
    } catch (error) {
      // An aborted job stopped between steps; any other failure may have left a session mid-update, so
      // the pooled sessions go (the loaded models stay).
      if ((error as Error)?.name !== 'AbortError') await models.sessions.clear().catch(() => {});
      await models.afterJob().catch(() => {});
      port.post({ type: 'error', id, error: serializeError(error), state: state() });
    } finally {
      abortFlags.delete(id);
    }
  }

  // Jobs run strictly one after another, in the order the host sent them; an abort is heard at once.
  let queue = Promise.resolve();
  port.onRequest((request) => {
    if (request.type === 'abort') {
      const flag = abortFlags.get(request.id);
      if (flag) Atomics.store(flag, 0, 1);
      return;
    }
    if (request.type === 'job') abortFlags.set(request.id, request.abortFlag ?? new Int32Array(1));
    queue = queue.then(() => handle(request));
  });
}
