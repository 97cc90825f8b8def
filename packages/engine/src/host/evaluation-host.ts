// EvaluationHost: one long-lived evaluation thread that runs jobs one after another and keeps what they
// load (models, tokenizers, ORT sessions, encoded graphs) for the next job. evaluate() pays model load
// and graph build on every call; a worker that takes one model's sweep cells back to back pays them once.
//
// Cancellation is cooperative, as in evaluate(): an abort sets a flag the thread (or process) checks
// before every prefill and step, and the caller's promise rejects at once. The thread is never
// terminated while it may be inside an ONNX Runtime call (that kills the process); only a thread that
// does not come back within the grace period, or that dies, is replaced, and the next job gets a fresh one.
import type { EvalOptions, EvalResult, EvaluateControls } from '../evaluation';
import { validateEvalOptions, type InternalEvalOptions } from '../protocols/run-evaluation';
import { emptyCounters, type HostMessage, type HostThreadConfig, type ThreadCounters, type ThreadState } from './host-protocol';
import { startHostChannel, type HostChannel, type HostIsolation } from './host-channel';
import { abortError, reviveError, threadLostError } from './thread-errors';

export interface EvaluationHostOptions {
  /** Models kept loaded; the least recently used beyond this is evicted with its sessions. Default 1. */
  maxModels?: number;
  /** ORT sessions alive at once, lent and idle (each holds a copy of the weights). Default 2, what one job uses. */
  maxSessions?: number;
  /** How long an aborted job's thread may take to reach its next step before it is replaced. Default 30 s. */
  abortGraceMs?: number;
  /** A job running longer than this is aborted (rejects with EvaluationTimeoutError). Default: no limit. */
  jobTimeoutMs?: number;
  /**
   * Where the loop runs: 'thread' (default), a worker thread of this process; 'process', a child process
   * of its own, for sessions that need process-wide ONNX Runtime settings (the WebGPU size-exact buffer
   * cache). Such a process starts afresh for every new model, since what ORT keeps outlives the sessions.
   */
  isolation?: HostIsolation;
}

export interface EvaluationHostStats extends ThreadCounters {
  /** Threads started; more than 1 means a thread died or hung and was replaced. */
  threadStarts: number;
  threadsReplaced: number;
  /** Processes closed because the next job wanted another model (isolation 'process'). */
  processesRecycled: number;
  /** Model specs loaded in the current thread, least recently used first. */
  loadedModels: string[];
  /** The process of the current loop after its last job (0 before one): this one's for a thread, a child's for a process. */
  pid: number;
  /** Jobs waiting for the thread. */
  queued: number;
  busy: boolean;
}

/** Options outside the public contract; crashThread (tests) makes the thread die instead of running the job. */
export type HostInternalOptions = Omit<InternalEvalOptions, 'inThread'> & { crashThread?: boolean };

interface Job {
  id: number;
  options: EvalOptions;
  controls: EvaluateControls;
  internal: HostInternalOptions;
  abortFlag: Int32Array;
  resolve: (r: EvalResult) => void;
  reject: (e: unknown) => void;
  /** The caller has its answer; the thread may still be winding the job down. */
  settled: boolean;
  timers: NodeJS.Timeout[];
  onAbort?: () => void;
}

export class EvaluationHost {
  private readonly config: HostThreadConfig;
  private readonly abortGraceMs: number;
  private readonly jobTimeoutMs: number | undefined;
  private thread: HostChannel | null = null;
  private readonly isolation: HostIsolation;
  private running: Job | null = null;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closing: Promise<void> | null = null;
  private threadStarts = 0;
  private threadsReplaced = 0;
  private processesRecycled = 0;
  private recycling: Promise<void> | null = null;
  private retired: ThreadCounters = emptyCounters();
  private threadState: ThreadState = { counters: emptyCounters(), loadedModels: [], pid: 0 };

  constructor(options: EvaluationHostOptions = {}) {
    const maxModels = options.maxModels ?? 1;
    const maxSessions = options.maxSessions ?? 2;
    if (!Number.isInteger(maxModels) || maxModels < 1) throw new Error(`maxModels: got ${JSON.stringify(options.maxModels)}, allowed: an integer >= 1`);
    if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new Error(`maxSessions: got ${JSON.stringify(options.maxSessions)}, allowed: an integer >= 1`);
    this.config = { maxModels, maxSessions };
    this.abortGraceMs = options.abortGraceMs ?? 30_000;
    this.jobTimeoutMs = options.jobTimeoutMs;
    this.isolation = options.isolation ?? 'thread';
    if (this.isolation !== 'thread' && this.isolation !== 'process') throw new Error(`isolation: got ${JSON.stringify(options.isolation)}, allowed: thread, process`);
  }

  /** Same contract as evaluate(): the full record, progress callbacks, AbortError on abort, errors naming the field. */
  evaluate(options: EvalOptions, controls: EvaluateControls = {}, internal: HostInternalOptions = {}): Promise<EvalResult> {
    return new Promise<EvalResult>((resolve, reject) => {
      const { signal } = controls;
      if (this.closing) return reject(new Error('evaluation host: closed'));
      if (signal?.aborted) return reject(abortError(signal));
      validateEvalOptions(options); // bad options fail here, without touching the thread
      const job: Job = { id: this.nextId++, options, controls, internal, abortFlag: new Int32Array(new SharedArrayBuffer(4)), resolve, reject, settled: false, timers: [] };
      if (signal) {
        job.onAbort = () => this.cancel(job, abortError(signal));
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  stats(): EvaluationHostStats {
    const c = this.threadState.counters;
    const sum = Object.fromEntries(Object.entries(this.retired).map(([k, v]) => [k, v + c[k as keyof ThreadCounters]])) as unknown as ThreadCounters;
    return { ...sum, threadStarts: this.threadStarts, threadsReplaced: this.threadsReplaced, processesRecycled: this.processesRecycled, loadedModels: [...this.threadState.loadedModels], pid: this.threadState.pid, queued: this.queue.length, busy: this.busy };
  }

  /** A job is running (or an aborted one winding down) or waiting. */
  get busy(): boolean {
    return this.running !== null || this.queue.length > 0;
  }

  /** Whether `model` (a spec as passed in EvalOptions.model) was loaded in the thread after its last job. */
  holds(model: string): boolean {
    return this.threadState.loadedModels.includes(model);
  }

  /**
   * Rejects waiting jobs, lets the running one finish (abort it first for a fast close), then asks the
   * thread to release its sessions and end; a thread that does not end within the grace period is terminated.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const job of this.queue.splice(0)) this.settle(job, () => job.reject(new Error('evaluation host: closed')));
      while (this.running) await new Promise((r) => setTimeout(r, 20));
      await this.recycling;
      const thread = this.thread;
      if (thread) await this.endLoop(thread, () => this.retire(thread, 'did not close'));
    })();
    return this.closing;
  }

  private pump(): void {
    if (this.running || this.queue.length === 0 || this.recycling) return;
    const job = this.queue[0];
    const held = this.threadState.loadedModels;
    if (this.thread && this.isolation === 'process' && held.length > 0 && !held.includes(job.options.model)) {
      this.recycling = this.recycle(this.thread).then(() => {
        this.recycling = null;
        this.pump();
      });
      return;
    }
    this.queue.shift();
    const thread = this.thread ?? this.startThread();
    this.running = job;
    thread.ref(); // a running job keeps the process alive, as evaluate() does
    const { crashThread, ...internal } = job.internal;
    // Shared memory reaches a thread, not a process; a process hears the 'abort' message instead.
    const abortFlag = thread.isolation === 'thread' ? job.abortFlag : undefined;
    thread.post({ type: 'job', id: job.id, options: job.options, internal, abortFlag, crashThread });
    if (this.jobTimeoutMs !== undefined) {
      const timeout = new Error(`evaluation: exceeded jobTimeoutMs (${this.jobTimeoutMs} ms) on ${job.options.model} / ${job.options.data}`);
      timeout.name = 'EvaluationTimeoutError';
      job.timers.push(setTimeout(() => this.cancel(job, timeout), this.jobTimeoutMs));
    }
  }

  /** Closes a process that holds another model (its sessions, then the process), so the next job gets a fresh one. */
  private async recycle(thread: HostChannel): Promise<void> {
    await this.endLoop(thread, () => thread.stop());
    this.processesRecycled++;
  }

  /** Asks the loop to release its sessions and end; `onTimeout` runs if it has not ended within the grace period. */
  private async endLoop(thread: HostChannel, onTimeout: () => void): Promise<void> {
    const exited = new Promise<void>((r) => thread.once('exit', () => r()));
    thread.ref(); // the caller awaits the end
    thread.post({ type: 'close' });
    const timer = setTimeout(onTimeout, this.abortGraceMs);
    await exited;
    clearTimeout(timer);
  }

  private startThread(): HostChannel {
    const thread = startHostChannel(this.isolation, this.config);
    this.thread = thread;
    this.threadStarts++;
    this.threadState = { counters: emptyCounters(), loadedModels: [], pid: 0 };
    thread.on('message', (message: HostMessage) => this.onMessage(thread, message));
    // 'error' (an uncaught exception, or ERR_WORKER_OUT_OF_MEMORY) is followed by 'exit'; the first one counts.
    thread.on('error', (error) => this.onThreadLost(thread, error));
    thread.on('exit', (code) => this.onThreadLost(thread, threadLostError(this.running?.options, `exited with code ${code}`)));
    return thread;
  }

  private onMessage(thread: HostChannel, message: HostMessage): void {
    if (thread !== this.thread) return;
    if (message.type === 'closed') {
      this.threadState = message.state;
      return;
    }
    const job = this.running;
    if (!job || job.id !== message.id) return;
    if (message.type === 'progress') {
      if (job.settled) return;
      try {
        job.controls.onProgress?.(message.progress);
      } catch (error) {
        // A throwing callback must not become an uncaught exception in the caller's process.
        this.cancel(job, error);
      }
      return;
    }
    this.threadState = message.state;
    if (message.type === 'result') this.settle(job, () => job.resolve(message.result));
    else this.settle(job, () => job.reject(reviveError(message.error)));
    this.finishRunning(job);
  }

  /** The thread is done with `job` (finished, failed, or wound down after an abort): on to the next. */
  private finishRunning(job: Job): void {
    for (const t of job.timers) clearTimeout(t);
    this.running = null;
    if (this.queue.length === 0) this.thread?.unref(); // an idle host does not keep the process alive
    this.pump();
  }

  private settle(job: Job, answer: () => void): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.controls.signal?.removeEventListener('abort', job.onAbort);
    answer();
  }

  /** Rejects `job` now and stops it: dropped if waiting, asked to stop at its next step if running. */
  private cancel(job: Job, reason: unknown): void {
    if (job.settled) return;
    const waiting = this.queue.indexOf(job);
    if (waiting >= 0) {
      this.queue.splice(waiting, 1);
      this.settle(job, () => job.reject(reason));
      return;
    }
    Atomics.store(job.abortFlag, 0, 1);
    this.settle(job, () => job.reject(reason));
    const thread = this.thread;
    if (thread && this.running === job) {
      thread.post({ type: 'abort', id: job.id });
      // Only a thread that does not reach its next step in time is replaced (terminating one inside an
      // ONNX Runtime call would take the process down with it).
      job.timers.push(setTimeout(() => this.running === job && this.thread === thread && this.retire(thread, 'did not stop after an abort'), this.abortGraceMs));
    }
  }

  private onThreadLost(thread: HostChannel, error: unknown): void {
    if (thread !== this.thread) return;
    this.forget(thread, this.closing === null && this.recycling === null);
    const job = this.running;
    if (job) {
      this.settle(job, () => job.reject(error));
      this.finishRunning(job);
    }
  }

  /** Terminates a thread that hangs (an abort or close it did not honour in time); the next job starts a fresh one. */
  private retire(thread: HostChannel, why: string): void {
    if (thread !== this.thread) return;
    this.forget(thread, this.closing === null);
    thread.stop();
    const job = this.running;
    if (job) {
      this.settle(job, () => job.reject(threadLostError(job.options, why)));
      this.finishRunning(job);
    }
  }

  private forget(thread: HostChannel, replaced: boolean): void {
    this.thread = null;
    if (replaced) this.threadsReplaced++;
    for (const k of Object.keys(this.retired) as (keyof ThreadCounters)[]) this.retired[k] += this.threadState.counters[k];
    this.threadState = { counters: emptyCounters(), loadedModels: [], pid: 0 };
    thread.unref();
  }
}

/** One long-lived evaluation thread with a model cache; see EvaluationHost. */
export function createEvaluationHost(options: EvaluationHostOptions = {}): EvaluationHost {
  return new EvaluationHost(options);
}
