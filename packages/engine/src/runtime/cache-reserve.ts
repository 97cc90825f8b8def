// Rows reserved ahead in the cache (kvRows 'reserve', fused attention only). Without them every decode
// step returns a cache one row longer than the step before, so the device allocator meets new buffer
// sizes at every step; with them the cache, GroupQueryAttention's present and its context-sized scratch
// keep one size until the tokens outgrow the rows, then grow to the next rung (bench/results/
// gpu-decode-profile.md, section 9). Runs, flushes and row counts come from small fixed sets, so a process
// serving prompts of any length meets a bounded set of buffer sizes (bench/results/gpu-prompt-sizes.md).
// The stores hold the rows (full-precision-store.ts, quantized-store.ts); the session asks for them
// before each run (onnx-session.ts).
import type * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../evaluation';
import type { BoundaryTensor } from '../graph';
import { buildReserveGraph, RESERVE_PADS, RESERVE_ROWS, reserveCuts, reserveIn, reserveOut, reservePads } from '../graph/cache-reserve';
import { cachedGraph } from './graph-cache';
import { createInferenceSession, type SessionOptions } from './providers';
import { int64Tensor } from './tensors';

/** Reserved rows are a multiple of this. */
export const RESERVE_STEP = 256;
/** Each rung of the ladder of row counts is this many times the one below (then rounded up to RESERVE_STEP). */
export const RESERVE_GROWTH = 1.5;

/**
 * Rows to give a cache tensor that must hold `tokens`: the smallest rung of the ladder 256, 512, 768, 1280,
 * 2048, 3072, 4608, ... (x1.5, multiples of 256) that holds them, at most `cap`, never fewer than the tokens.
 * Rungs rather than any multiple of 256: a prompt's first rows come from its length, and a process serving
 * many prompts should meet a few row counts, not one per prompt. No headroom beyond the rung: a packed
 * history's spare rows are dequantized at every step (at 8k, 1.25x headroom made K4V2 steps 19% slower).
 */
export function reservedRows(tokens: number, cap: number): number {
  let rung = RESERVE_STEP;
  while (rung < tokens) rung = Math.ceil((rung * RESERVE_GROWTH) / RESERVE_STEP) * RESERVE_STEP;
  return Math.max(tokens, Math.min(cap, rung));
}

/**
 * `count` as descending powers of two (its binary digits): the flushes of a prefill with rows reserved,
 * in quanta, so a flush graph meets one of log2(count) + 1 sizes whatever the prompt's length.
 */
export function powerOfTwoParts(count: number): number[] {
  const parts: number[] = [];
  for (let bit = 2 ** Math.floor(Math.log2(Math.max(count, 1))); bit >= 1; bit /= 2) if (count & bit) parts.push(bit);
  return parts;
}

/**
 * Tokens per decoder run for `tokens` positions: whole `chunk`s, then the rest in one run, or `bounded`
 * (rows reserved) in descending powers of two, so a run has one of about log2(chunk) + 1 lengths whatever
 * the prompt's length. With a buffer cache that keeps every size it meets (WebGPU's 'simple' mode) the
 * sizes a process holds then stay bounded across prompts; a rest in one piece would add sizes per prompt.
 */
export function prefillRuns(tokens: number, chunk: number, bounded: boolean): number[] {
  const runs: number[] = new Array<number>(Math.floor(tokens / chunk)).fill(chunk);
  const rest = tokens % chunk;
  return runs.concat(bounded ? powerOfTwoParts(rest) : rest > 0 ? [rest] : []);
}

export interface ReserveGraphOptions {
  provider: ExecutionProvider;
  sessionOptions: SessionOptions;
  onDevice: boolean;
}

/** Grows cache tensors of one format (a residual, or the parts of one codec's history) on their device. */
export class CacheReserve {
  private released = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly parts: number,
    /** Whether the tensors can also lose rows (float formats only). */
    private readonly cuts: boolean,
  ) {}

  static async open(o: ReserveGraphOptions, parts: Pick<BoundaryTensor, 'dtype' | 'shape'>[]): Promise<CacheReserve> {
    const encoded = await cachedGraph(`reserve|${JSON.stringify(parts)}|${o.onDevice}`, () => buildReserveGraph(parts, o.onDevice));
    const locations = Object.fromEntries(parts.map((_, i) => [reserveOut(i), 'gpu-buffer' as const]));
    const options: SessionOptions = o.onDevice ? { ...o.sessionOptions, preferredOutputLocation: locations } : { ...o.sessionOptions };
    return new CacheReserve(await createInferenceSession(encoded, o.provider, options), parts.length, reserveCuts(parts));
  }

  /**
   * `tensors` ([B, H, n, X] each, in the format order) with `rows` rows: unchanged when they have them;
   * `zeros(rows)` from the host while they hold no tokens (the first run uploads them once); else grown
   * (added rows zero) or, float formats only, cut to `rows` (never below `tokens`) on their device.
   */
  async reserve(tensors: ort.Tensor[], tokens: number, rows: number, zeros: (rows: number) => ort.Tensor[]): Promise<ort.Tensor[]> {
    if (tensors.length !== this.parts) throw new Error(`cache reserve: got ${tensors.length} tensors, want ${this.parts}`);
    if (rows < tokens) throw new Error(`cache reserve: ${rows} rows cannot hold ${tokens} tokens`);
    const have = tensors[0].dims[2];
    if (rows === have) return tensors;
    if (tokens === 0) return zeros(rows);
    if (rows < have && !this.cuts) throw new Error(`cache reserve: codes only gain rows (${have} -> ${rows} asked)`);
    const feeds: Record<string, ort.Tensor> = { [RESERVE_PADS]: int64Tensor(reservePads({ before: 0, rows: have, total: Math.max(have, rows) })) };
    if (this.cuts) feeds[RESERVE_ROWS] = int64Tensor([rows]);
    tensors.forEach((t, i) => (feeds[reserveIn(i)] = t));
    const out = await this.session.run(feeds);
    return tensors.map((_, i) => out[reserveOut(i)]);
  }

  /** Releases the graph's session (once, however many stores share it). */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
