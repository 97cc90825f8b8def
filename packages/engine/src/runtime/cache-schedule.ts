// The cache policy's state machine (benchmarks.md "Cache policy") as pure arithmetic on token counts,
// shared by the ONNX session and by the tests' reference emulation so both follow one schedule.
import type { QuantizerConfig } from '@kvbench/quant';
import type { CachePolicy } from '../evaluation';

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Smallest number of tokens whose [1, kvHeads, n, headDim] block the layout can group (n must be a
 * multiple of it): a per-channel group needs groupSize tokens; tokens short of it stay in the residual.
 */
export function tokenQuantum(q: QuantizerConfig, kvHeads: number, headDim: number): number {
  const G = q.groupSize;
  switch (q.axis) {
    case 'per-token':
      return G <= headDim ? 1 : G / headDim; // groups longer than a head vector span G/headDim tokens
    case 'per-channel':
      return G;
    case 'quanto-per-channel':
      return G / gcd(G, kvHeads); // kvHeads * n rows must divide into groups of G
    case 'hqq-per-channel':
      return G / gcd(G, kvHeads * headDim); // kvHeads * n * headDim elements in columns of G
  }
}

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
