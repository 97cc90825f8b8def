// The float64 reference's products on several threads. The reference is synchronous and its sums must not
// change, so a product's output rows are split between this thread and helper threads that share the
// weights, the input and the output through SharedArrayBuffers; each row is summed exactly as on one thread
// (matmul.ts), so any split gives the same numbers bit for bit. The caller blocks on Atomics.wait until
// the helpers are done (allowed in Node on every thread). Helpers idle in Atomics.wait and are unref'd.
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ModelWeights } from '../model/config';
import { matmul, matmulRows, type Matmul } from './matmul';

/** Products smaller than this many multiply-adds run on the calling thread (a hand-off costs tens of µs). */
const MIN_PARALLEL_MACS = 1 << 20;
/** A helper that has not finished its rows within this time is taken for dead. */
const HELPER_TIMEOUT_MS = 300_000;

export interface MatmulThreadsOptions {
  /** Smallest product, in multiply-adds, that is split (default 2^20). */
  minParallelMacs?: number;
}

// Control words (Int32Array over a SharedArrayBuffer).
const SEQ = 0; // bumped once per product: helpers wait on it
const DONE = 1; // helpers that finished the current product
const WEIGHT = 2; // index of the weight in the bound model's table
const BIAS = 3; // index of the bias, or -1
const ROWS = 4;
const COLS = 5;
const TOKENS = 6;
const STOP = 7;
const POSTED = 8; // messages posted to each helper so far: a helper reads until it has them all
const CONTROL_WORDS = 9;

// Runs in each helper (eval'd CommonJS). `matmulRows` is the kernel's own source text.
const HELPER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const matmulRows = ${matmulRows.toString()};
const { control, inbox, outbox, index, parts } = workerData;
const ctrl = new Int32Array(control);
let table = [];
let x = null;
let y = null;
let received = 0;
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  if (Atomics.load(ctrl, ${STOP})) break;
  try {
    while (received < Atomics.load(ctrl, ${POSTED})) {
      const m = receiveMessageOnPort(inbox);
      if (!m) continue; // posted but not yet delivered
      received++;
      if (m.message.type === 'model') table = m.message.arrays;
      else { x = m.message.x; y = m.message.y; }
    }
    const rows = ctrl[${ROWS}];
    const w = table[ctrl[${WEIGHT}]];
    const bias = ctrl[${BIAS}] < 0 ? null : table[ctrl[${BIAS}]];
    const r0 = Math.floor((rows * index) / parts);
    const r1 = Math.floor((rows * (index + 1)) / parts);
    matmulRows(y, x, w, rows, ctrl[${COLS}], bias, ctrl[${TOKENS}], r0, r1);
  } catch (error) {
    outbox.postMessage(String(error && error.stack || error));
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;

interface Helper {
  worker: Worker;
  inbox: MessagePort;
  outbox: MessagePort;
}

const isShared = (a: Float32Array): boolean => a.buffer instanceof SharedArrayBuffer;

function shareArray(a: Float32Array): Float32Array {
  if (isShared(a)) return a;
  const copy = new Float32Array(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

function modelArrays(weights: ModelWeights): Float32Array[] {
  const arrays: Float32Array[] = [weights.lmHead];
  for (const l of weights.layers) {
    for (const a of [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown, l.bq, l.bk, l.bv]) if (a) arrays.push(a);
  }
  return arrays;
}

export class MatmulThreads {
  /** Threads that share a product: the helpers and the caller. */
  readonly threads: number;
  /** Started on the first split product (a small model's sample never needs them). */
  private helpers: Helper[] | null = null;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private x = new Float64Array(new SharedArrayBuffer(8));
  private y = new Float64Array(new SharedArrayBuffer(8));
  private bound: ModelWeights | null = null;
  private index = new Map<Float32Array, number>();
  /** The bound model's matrices in shared memory, by index. */
  private arrays: Float32Array[] = [];
  private posted = 0;
  // Copies of weights that were not in shared memory, kept as long as the originals.
  private readonly copies = new WeakMap<Float32Array, Float32Array>();
  private closed = false;
  private readonly minParallelMacs: number;
  /** Products that were split over the threads (the rest ran on the caller alone). */
  splitProducts = 0;

  /** Whether the helper threads run (they start with the first split product). */
  get started(): boolean {
    return this.helpers !== null;
  }

  constructor(threads: number, options: MatmulThreadsOptions = {}) {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`MatmulThreads: threads must be an integer >= 1, got ${threads}`);
    this.threads = threads;
    this.minParallelMacs = options.minParallelMacs ?? MIN_PARALLEL_MACS;
  }

  /** The product for `weights`' matrices (any other matrix runs on the calling thread). */
  bind(weights: ModelWeights): Matmul {
    if (this.threads === 1) return matmul;
    return (y, x, w, rows, cols, bias, tokens = 1) => {
      if (rows * cols * tokens < this.minParallelMacs || rows < this.threads) return matmul(y, x, w, rows, cols, bias, tokens);
      if (this.closed) throw new Error('MatmulThreads: closed');
      this.startHelpers();
      if (this.bound !== weights) this.load(weights);
      const wi = this.index.get(w);
      const bi = bias ? this.index.get(bias) : -1;
      if (wi === undefined || bi === undefined) return matmul(y, x, w, rows, cols, bias, tokens);
      this.run(y, x, wi, bi, rows, cols, tokens);
    };
  }

  /**
   * Lets the helpers drop `weights` (they hold the bound model's matrices until another is bound, which
   * would keep an evicted model's memory alive). A later product binds them again.
   */
  release(weights: ModelWeights): void {
    if (this.bound !== weights || this.closed) return;
    this.bound = null;
    this.index = new Map();
    this.arrays = [];
    this.post({ type: 'model', arrays: [] });
  }

  /** Stops the helpers (they would also end with the process: they are unref'd). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    for (const h of this.helpers ?? []) {
      h.inbox.close();
      h.outbox.close();
    }
  }

  private startHelpers(): void {
    if (this.helpers) return;
    const threads = this.threads;
    this.helpers = Array.from({ length: threads - 1 }, (_, i) => {
      const toHelper = new MessageChannel();
      const fromHelper = new MessageChannel();
      const worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: { control: this.control.buffer, inbox: toHelper.port2, outbox: fromHelper.port2, index: i + 1, parts: threads },
        transferList: [toHelper.port2, fromHelper.port2],
      });
      worker.unref();
      toHelper.port1.unref();
      fromHelper.port1.unref();
      return { worker, inbox: toHelper.port1, outbox: fromHelper.port1 };
    });
  }

  private post(message: unknown): void {
    if (!this.helpers) return; // helpers that start later get the model and buffers before their first product
    for (const h of this.helpers) h.inbox.postMessage(message);
    this.posted++;
    Atomics.store(this.control, POSTED, this.posted);
  }

  private load(weights: ModelWeights): void {
    const originals = modelArrays(weights);
    const arrays = originals.map((a) => {
      let shared = this.copies.get(a);
      if (!shared) this.copies.set(a, (shared = shareArray(a)));
      return shared;
    });
    this.index = new Map(originals.map((a, i) => [a, i]));
    this.arrays = arrays;
    this.bound = weights;
    this.post({ type: 'model', arrays });
  }

  private run(y: Float64Array, x: Float64Array, weight: number, bias: number, rows: number, cols: number, tokens: number): void {
    const helpers = this.helpers!;
    if (this.x.length < tokens * cols || this.y.length < tokens * rows) {
      this.x = new Float64Array(new SharedArrayBuffer(Math.max(this.x.length, tokens * cols) * 8));
      this.y = new Float64Array(new SharedArrayBuffer(Math.max(this.y.length, tokens * rows) * 8));
      this.post({ type: 'buffers', x: this.x, y: this.y });
    }
    this.splitProducts++;
    this.x.set(x.subarray(0, tokens * cols));
    const c = this.control;
    c[WEIGHT] = weight;
    c[BIAS] = bias;
    c[ROWS] = rows;
    c[COLS] = cols;
    c[TOKENS] = tokens;
    Atomics.store(c, DONE, 0);
    Atomics.add(c, SEQ, 1);
    Atomics.notify(c, SEQ);
    matmulRows(this.y, this.x, this.arrays[weight], rows, cols, bias < 0 ? null : this.arrays[bias], tokens, 0, Math.floor(rows / this.threads));
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === helpers.length) break;
      if (Atomics.wait(c, DONE, done, HELPER_TIMEOUT_MS) === 'timed-out') {
        this.close(); // a late helper would count into the next product
        throw new Error(`MatmulThreads: a helper did not finish a ${rows}x${cols} product within ${HELPER_TIMEOUT_MS / 1000} s`);
      }
    }
    for (const h of helpers) {
      const failure = receiveMessageOnPort(h.outbox);
      if (failure) throw new Error(`MatmulThreads: helper failed: ${failure.message as string}`);
    }
    y.set(this.y.subarray(0, tokens * rows));
  }
}

/** KVBENCH_REFERENCE_THREADS, or every core up to 16. */
export function referenceThreadCount(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.KVBENCH_REFERENCE_THREADS;
  if (raw === undefined || raw.trim() === '') return Math.min(availableParallelism(), 16);
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new Error(`KVBENCH_REFERENCE_THREADS must be an integer from 1 to 256, got ${JSON.stringify(raw)}`);
  }
  return threads;
}

let shared: MatmulThreads | null = null;

/** The threads for the reference's cache samples: one set per process (or worker thread), started on first use. */
export function referenceThreads(): MatmulThreads {
  shared ??= new MatmulThreads(referenceThreadCount());
  return shared;
}
