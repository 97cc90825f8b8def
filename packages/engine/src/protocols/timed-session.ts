// Wraps a DecoderSession to measure its own throughput (tokens fed per second spent inside it), so the
// recorded speed is the quantized model's, not that of the paired full-precision run or the metrics.
import { ForwardingSession } from '../forwarding-session';
import type { DecoderSession } from '../session';

export class TimedSession extends ForwardingSession {
  tokens = 0;
  seconds = 0;
  /** Each decode step's time (ms), for the median step: the speed a cache policy changes most. */
  readonly stepMs: number[] = [];

  /** `beforeCall` runs before every prefill and step (cancellation checks throw from it). */
  constructor(
    inner: DecoderSession,
    private readonly beforeCall: () => void = () => {},
  ) {
    super(inner);
  }

  override async prefill(tokens: number[]): Promise<Float32Array> {
    this.beforeCall();
    const t0 = performance.now();
    const logits = await this.inner.prefill(tokens);
    this.seconds += (performance.now() - t0) / 1000;
    this.tokens += tokens.length;
    return logits;
  }

  override async step(token: number): Promise<Float32Array> {
    this.beforeCall();
    const t0 = performance.now();
    const logits = await this.inner.step(token);
    const ms = performance.now() - t0;
    this.seconds += ms / 1000;
    this.stepMs.push(ms);
    this.tokens++;
    return logits;
  }

  get tokensPerSecond(): number {
    return this.seconds > 0 ? this.tokens / this.seconds : 0;
  }

  /** The median decode step (ms), or null before the first step. */
  get medianStepMs(): number | null {
    if (this.stepMs.length === 0) return null;
    const sorted = [...this.stepMs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
}
