// Messages between evaluate() and its worker thread.
import type { EvalOptions, EvalProgress, EvalResult } from './evaluation';
import type { SerializedError } from './host/thread-errors';
import type { InternalEvalOptions } from './protocols/run-evaluation';

export interface WorkerRequest {
  options: EvalOptions;
  internal: InternalEvalOptions;
  /** Int32Array over a SharedArrayBuffer; element 0 becomes 1 when the caller aborts. Shared memory,
   * not a message, because a busy synchronous loop (the reference engine) never reads its messages. */
  abortFlag: Int32Array;
}

export type WorkerMessage =
  | { type: 'progress'; progress: EvalProgress }
  | { type: 'result'; result: EvalResult }
  | { type: 'error'; error: SerializedError };
