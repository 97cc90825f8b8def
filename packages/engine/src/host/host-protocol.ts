// Messages between an EvaluationHost (caller's thread) and its long-lived evaluation thread.
import type { EvalOptions, EvalProgress, EvalResult } from '../evaluation';
import type { InternalEvalOptions } from '../protocols/run-evaluation';
import type { SerializedError } from './thread-errors';

/** Counters kept by the thread since it started (the host adds those of threads it replaced). */
export interface ThreadCounters {
  jobs: number;
  modelLoads: number;
  modelHits: number;
  modelEvictions: number;
  sessionCreates: number;
  sessionReuses: number;
  sessionDisposals: number;
  /** Float64 cache samples (attention metrics, budgets) served from an earlier job of the same model and documents. */
  sampleHits: number;
}

export interface ThreadState {
  counters: ThreadCounters;
  /** Model specs held now, least recently used first. */
  loadedModels: string[];
  /** The process the loop runs in (the caller's own for a thread). */
  pid: number;
}

export interface HostThreadConfig {
  maxModels: number;
  maxSessions: number;
}

export type HostRequest =
  | {
      type: 'job';
      id: number;
      options: EvalOptions;
      internal: InternalEvalOptions;
      /** Int32Array over a SharedArrayBuffer; element 0 becomes 1 when the caller aborts. Shared memory,
       * not a message: a busy synchronous loop (the reference engine) never reads its messages. Threads
       * only (memory is not shared with a child process, which hears the 'abort' message instead). */
      abortFlag?: Int32Array;
      /** Tests only: the thread throws outside any job's promise chain, which kills it. */
      crashThread?: boolean;
    }
  /** Stops job `id` at its next step (handled at once, not queued behind the job). */
  | { type: 'abort'; id: number }
  | { type: 'close' };

export type HostMessage =
  | { type: 'progress'; id: number; progress: EvalProgress }
  | { type: 'result'; id: number; result: EvalResult; state: ThreadState }
  | { type: 'error'; id: number; error: SerializedError; state: ThreadState }
  | { type: 'closed'; state: ThreadState };

export const emptyCounters = (): ThreadCounters => ({ jobs: 0, modelLoads: 0, modelHits: 0, modelEvictions: 0, sessionCreates: 0, sessionReuses: 0, sessionDisposals: 0, sampleHits: 0 });
