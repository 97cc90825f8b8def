// Progress of one evaluation: items and tokens done, throughput, and an ETA from the items' pace.
import type { EvalProgress } from '../evaluation';

export class ProgressTracker {
  private readonly started = performance.now();
  private lastReport = -Infinity;
  itemsDone = 0;
  tokensDone = 0;

  constructor(
    readonly itemsTotal: number,
    private readonly report: (p: EvalProgress) => void,
    /** Reports at most this often (ms), besides the last item. */
    private readonly intervalMs = 200,
  ) {}

  addTokens(n: number): void {
    this.tokensDone += n;
  }

  itemDone(): void {
    this.itemsDone++;
    const now = performance.now();
    if (now - this.lastReport >= this.intervalMs || this.itemsDone >= this.itemsTotal) {
      this.lastReport = now;
      this.report(this.snapshot());
    }
  }

  snapshot(): EvalProgress {
    const seconds = (performance.now() - this.started) / 1000;
    const remaining = this.itemsTotal - this.itemsDone;
    return {
      itemsDone: this.itemsDone,
      itemsTotal: this.itemsTotal,
      tokensDone: this.tokensDone,
      tokensPerSecond: seconds > 0 ? this.tokensDone / seconds : 0,
      etaSeconds: this.itemsDone > 0 ? (seconds / this.itemsDone) * remaining : null,
    };
  }
}
