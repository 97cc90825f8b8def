// A pooled decoder session lent to one evaluation. runEvaluation disposes the sessions it opened; for a
// lent one that hands it back to the pool instead of releasing the ORT sessions. Counters that live in
// the session across jobs (non-finite values met by the quantizer) are reported from the lease's start.
import { ForwardingSession } from '../forwarding-session';
import type { DecoderSession } from '../session';

export class LeasedSession extends ForwardingSession {
  private readonly nonFiniteAtStart: number;
  private returned = false;

  constructor(
    inner: DecoderSession,
    private readonly giveBack: (session: DecoderSession) => void,
  ) {
    super(inner);
    inner.reset();
    this.nonFiniteAtStart = inner.nonFinite();
  }

  override nonFinite(): number {
    return this.target().nonFinite() - this.nonFiniteAtStart;
  }

  /** Hands the session back (cleared) instead of releasing it. */
  override async dispose(): Promise<void> {
    if (this.returned) return;
    this.returned = true;
    this.inner.reset(); // drops the cache tensors this job left
    this.giveBack(this.inner);
  }

  protected override target(): DecoderSession {
    if (this.returned) throw new Error('session: used after dispose()');
    return this.inner;
  }
}
