// The flush unit of a grouped layout: the fewest tokens whose block it can group.
import type { QuantizerConfig } from '@kvbench/quant';

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

