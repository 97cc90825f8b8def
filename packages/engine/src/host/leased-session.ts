// A pooled decoder session lent to one evaluation. runEvaluation disposes the sessions it opened; for a
// lent one that hands it back to the pool instead of releasing the ORT sessions. Counters that live in
// the session across jobs (non-finite values met by the quantizer) are reported from the lease's start.
import type { LayerStat } from '../evaluation';
import type { DecoderSession, KvMemory } from '../session';

export class LeasedSession implements DecoderSession {
  private readonly nonFiniteAtStart: number;
  private returned = false;

  constructor(
    readonly inner: DecoderSession,
    private readonly giveBack: (session: DecoderSession) => void,
  ) {
    inner.reset();
    this.nonFiniteAtStart = inner.nonFinite();
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
  reset(): void {
    this.usable().reset();
  }
  prefill(tokens: number[]): Promise<Float32Array> {
    return this.usable().prefill(tokens);
  }
  step(token: number): Promise<Float32Array> {
    return this.usable().step(token);
  }
  snapshot(): unknown {
    return this.usable().snapshot();
  }
  restore(snapshot: unknown): void {
    this.usable().restore(snapshot);
  }
  memory(): KvMemory {
    return this.usable().memory();
  }
  nonFinite(): number {
    return this.usable().nonFinite() - this.nonFiniteAtStart;
  }
  layerStats(): LayerStat[] {
    const inner = this.inner as DecoderSession & { layerStats?: () => LayerStat[] };
    return typeof inner.layerStats === 'function' ? inner.layerStats() : [];
  }

  /** Hands the session back (cleared) instead of releasing it. */
  async dispose(): Promise<void> {
    if (this.returned) return;
    this.returned = true;
    this.inner.reset(); // drops the cache tensors this job left
    this.giveBack(this.inner);
  }

  private usable(): DecoderSession {
    if (this.returned) throw new Error('session: used after dispose()');
    return this.inner;
  }
}
