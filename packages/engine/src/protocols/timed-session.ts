// Wraps a DecoderSession to measure its own throughput (tokens fed per second spent inside it), so the
// recorded speed is the quantized model's, not that of the paired full-precision run or the metrics.
import type { LayerStat } from '../evaluation';
import type { DecoderSession } from '../session';

export class TimedSession implements DecoderSession {
  tokens = 0;
  seconds = 0;

  /** `beforeCall` runs before every prefill and step (cancellation checks throw from it). */
  constructor(
    readonly inner: DecoderSession,
    private readonly beforeCall: () => void = () => {},
  ) {}

  get provider() {
    return this.inner.provider;
  }
  get policy() {
    return this.inner.policy;
  }
  get vocabSize() {
    return this.inner.vocabSize;
  }
  get weights() {
    return this.inner.weights;
  }

  reset(): void {
    this.inner.reset();
  }

  async prefill(tokens: number[]): Promise<Float32Array> {
    this.beforeCall();
    const t0 = performance.now();
    const logits = await this.inner.prefill(tokens);
    this.seconds += (performance.now() - t0) / 1000;
    this.tokens += tokens.length;
    return logits;
  }

  async step(token: number): Promise<Float32Array> {
    this.beforeCall();
    const t0 = performance.now();
    const logits = await this.inner.step(token);
    this.seconds += (performance.now() - t0) / 1000;
    this.tokens++;
    return logits;
  }

  snapshot(): unknown {
    return this.inner.snapshot();
  }
  restore(snapshot: unknown): void {
    this.inner.restore(snapshot);
  }
  memory() {
    return this.inner.memory();
  }
  nonFinite(): number {
    return this.inner.nonFinite();
  }
  /** Per-layer cache statistics when the session offers them (an optional extension of DecoderSession). */
  layerStats(): LayerStat[] {
    return offering(this.inner, 'layerStats')?.layerStats?.() ?? [];
  }
  layerStatsSource(): string {
    return offering(this.inner, 'layerStatsSource')?.layerStatsSource?.() ?? 'none (the session records no per-layer statistics)';
  }
  restartLayerStats(): void {
    offering(this.inner, 'restartLayerStats')?.restartLayerStats?.();
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }

  get tokensPerSecond(): number {
    return this.seconds > 0 ? this.tokens / this.seconds : 0;
  }
}

/**
 * The first session down a chain of wrappers (each exposing the one it wraps as `inner`, as TimedSession
 * and the host's LeasedSession do) that implements the optional method `name`.
 */
function offering(session: DecoderSession, name: 'layerStats' | 'layerStatsSource' | 'restartLayerStats'): DecoderSession | undefined {
  let s: unknown = session;
  for (let depth = 0; s && typeof s === 'object' && depth < 8; depth++) {
    if (typeof (s as DecoderSession)[name] === 'function') return s as DecoderSession;
    s = (s as { inner?: unknown }).inner;
  }
  return undefined;
}
