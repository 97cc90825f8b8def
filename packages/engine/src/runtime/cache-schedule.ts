// The cache policy's state machine (benchmarks.md "Cache policy") as pure arithmetic on token counts,
// shared by the ONNX session and by the tests' reference emulation so both follow one schedule.
import type { CachePolicy } from '../evaluation';

export { tokenQuantum } from '../codec/quantum';

/** Tokens of a P-token prompt that go to the quantized history right after prefill. */
export function prefillQuantizedTokens(promptTokens: number, policy: CachePolicy, quantum: number): number {
  const keep = policy.prefill === 'keep-residual' ? Math.min(promptTokens, policy.residualLength) : 0;
  return Math.floor((promptTokens - keep) / quantum) * quantum;
}

/**
 * Tokens to move from the residual into the history after a decode step (0 = none): when the residual
 * has reached residualLength (0: every step), as many whole quanta as it holds.
 */
export function stepFlushTokens(residualTokens: number, policy: CachePolicy, quantum: number): number {
  if (residualTokens < policy.residualLength) return 0;
  return Math.floor(residualTokens / quantum) * quantum;
}
