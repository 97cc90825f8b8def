// evaluate(): one evaluation in a fresh worker thread, so the caller's event loop stays free while ONNX
// Runtime's run() blocks (the inference worker renews its BullMQ lock on that loop). Progress is posted
// from the thread; aborting the signal rejects at once with an AbortError and stops the thread at its next step.
// Each call loads the model and builds its sessions anew; a worker running many jobs uses an
// EvaluationHost (host/evaluation-host.ts), whose thread keeps them between jobs.
import type { EvalOptions, EvalResult, EvaluateControls } from './evaluation';
import { runEvaluation, validateEvalOptions, type InternalEvalOptions } from './protocols/run-evaluation';
import type { WorkerMessage, WorkerRequest } from './evaluate-worker-protocol';
import { startEngineThread } from './host/start-thread';
import { abortError, reviveError } from './host/thread-errors';

/** How long a cancelled thread may take to reach its next step before it is terminated anyway. */
const ABORT_GRACE_MS = 30_000;

/**
 * Runs one evaluation and resolves with its full record. `internal` is outside the public contract:
 * `engine: 'reference'` runs the float64 reference sessions instead of ONNX Runtime (cross-checks),
 * `inThread: false` runs in the calling thread (no progress isolation, no hard cancellation).
 */
export async function evaluate(options: EvalOptions, controls: EvaluateControls = {}, internal: InternalEvalOptions = {}): Promise<EvalResult> {
  const { signal, onProgress } = controls;
  if (signal?.aborted) throw abortError(signal);
  validateEvalOptions(options); // bad options fail here, without starting a thread
  if (internal.inThread === false) {
    // In this thread an abort takes effect at the next session call (the next step).
    return runEvaluation(options, internal, (p) => onProgress?.(p), () => signal?.aborted === true);
  }

  const abortFlag = new Int32Array(new SharedArrayBuffer(4));
  const worker = startEngineThread(new URL('./evaluate-worker.ts', import.meta.url), { options, internal, abortFlag } satisfies WorkerRequest);
  return new Promise<EvalResult>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      // Settled: the thread ends by itself (or winds down after an abort); it must not keep the process alive.
      worker.unref();
      f();
    };
    const onAbort = () => {
      // Ask the thread to stop at its next step and reject now. Terminating it outright could land in
      // the middle of an ONNX Runtime call, and a native callback into a dead thread aborts the process;
      // only a thread that does not stop within the grace period is terminated.
      Atomics.store(abortFlag, 0, 1);
      finish(() => reject(abortError(signal!)));
      const timer = setTimeout(() => void worker.terminate(), ABORT_GRACE_MS);
      timer.unref();
      worker.once('exit', () => clearTimeout(timer));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') {
        if (settled) return;
        try {
          onProgress?.(message.progress);
        } catch (error) {
          // A throwing callback must not become an uncaught exception in the caller's process.
          Atomics.store(abortFlag, 0, 1);
          finish(() => reject(error));
        }
      } else if (message.type === 'result') {
        finish(() => resolve(message.result));
      } else {
        finish(() => reject(reviveError(message.error)));
      }
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) => finish(() => reject(new Error(`evaluation worker exited with code ${code} before finishing`))));
  });
}
