// A DecoderSession that passes every call to the session it wraps (`inner`), including the optional
// layer-statistics methods. Wrappers (TimedSession, the host's LeasedSession) override only what they add.
import type { LayerStat } from './evaluation';
import type { DecoderSession, KvMemory } from './session';

export class ForwardingSession implements DecoderSession {
  constructor(readonly inner: DecoderSession) {}

  /** The session calls go to; a wrapper may refuse here (e.g. after it was handed back). */
  protected target(): DecoderSession {
    return this.inner;
  }

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
  get attention() {
    return this.inner.attention;
  }
  get kvRows() {
    return this.inner.kvRows;
  }
  reset(): void {
    this.target().reset();
  }
  prefill(tokens: number[]): Promise<Float32Array> {
    return this.target().prefill(tokens);
  }
  step(token: number): Promise<Float32Array> {
    return this.target().step(token);
  }
  snapshot(): unknown {
    return this.target().snapshot();
  }
  restore(snapshot: unknown): void {
    this.target().restore(snapshot);
  }
  memory(): KvMemory {
    return this.target().memory();
  }
  nonFinite(): number {
    return this.target().nonFinite();
  }
  layerStats(): LayerStat[] {
    return this.target().layerStats?.() ?? [];
  }
  layerStatsSource(): string {
    return this.target().layerStatsSource?.() ?? 'none (the session records no per-layer statistics)';
  }
  restartLayerStats(): void {
    this.target().restartLayerStats?.();
  }
  dispose(): Promise<void> {
    return this.target().dispose();
  }
}
