// Rows reserved ahead in the cache (kvRows 'reserve', fused attention only). Without them every decode
// step returns a cache one row longer than the step before, so the device allocator meets new buffer
// sizes at every step; with them the cache, GroupQueryAttention's present and its context-sized scratch
// keep one size until the tokens outgrow the rows, then grow by half (bench/results/gpu-decode-profile.md,
// section 9). The stores hold the rows (full-precision-store.ts, quantized-store.ts); the session asks
// for them before each run (onnx-session.ts).
import type * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../evaluation';
import type { BoundaryTensor } from '../graph';
import { buildReserveGraph, RESERVE_PADS, reserveIn, reserveOut, reservePads } from '../graph/cache-reserve';
import { cachedGraph } from './graph-cache';
import { createInferenceSession, type SessionOptions } from './providers';
import { int64Tensor } from './tensors';

/** Reserved rows are a multiple of this. */
export const RESERVE_STEP = 256;
/** A grown cache has this many times the rows its tokens need (then rounded up to RESERVE_STEP). */
export const RESERVE_GROWTH = 1.5;

/** Rows to give a cache tensor that must hold `tokens`: at least that, otherwise at most `cap`. */
export function reservedRows(tokens: number, cap: number): number {
  const ahead = Math.ceil((tokens * RESERVE_GROWTH) / RESERVE_STEP) * RESERVE_STEP;
  return Math.max(tokens, Math.min(cap, ahead));
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
  ) {}

  static async open(o: ReserveGraphOptions, parts: Pick<BoundaryTensor, 'dtype' | 'shape'>[]): Promise<CacheReserve> {
    const encoded = await cachedGraph(`reserve|${JSON.stringify(parts)}|${o.onDevice}`, () => buildReserveGraph(parts, o.onDevice));
    const locations = Object.fromEntries(parts.map((_, i) => [reserveOut(i), 'gpu-buffer' as const]));
    const options: SessionOptions = o.onDevice ? { ...o.sessionOptions, preferredOutputLocation: locations } : { ...o.sessionOptions };
    return new CacheReserve(await createInferenceSession(encoded, o.provider, options), parts.length);
  }

  /**
   * `tensors` ([B, H, n, X] each, in the format order) with at least `rows` rows, the rows added zero:
   * unchanged when they have them; `zeros(rows)` from the host while they hold no tokens (the first run
   * uploads them once); else grown on their device.
   */
  async reserve(tensors: ort.Tensor[], tokens: number, rows: number, zeros: (rows: number) => ort.Tensor[]): Promise<ort.Tensor[]> {
    if (tensors.length !== this.parts) throw new Error(`cache reserve: got ${tensors.length} tensors, want ${this.parts}`);
    const have = tensors[0].dims[2];
    if (rows <= have) return tensors;
    if (tokens === 0) return zeros(rows);
    const feeds: Record<string, ort.Tensor> = { [RESERVE_PADS]: int64Tensor(reservePads({ before: 0, rows: have, total: rows })) };
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
