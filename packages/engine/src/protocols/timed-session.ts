// Wraps a DecoderSession to measure its own throughput (tokens fed per second spent inside it), so the
// recorded speed is the quantized model's, not that of the paired full-precision run or the metrics.
import { ForwardingSession } from '../forwarding-session';
import type { DecoderSession } from '../session';

export class TimedSession extends ForwardingSession {
  tokens = 0;
  seconds = 0;

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
    this.seconds += (performance.now() - t0) / 1000;
    this.tokens++;
    return logits;
  }

  get tokensPerSecond(): number {
    return this.seconds > 0 ? this.tokens / this.seconds : 0;
  }
}
