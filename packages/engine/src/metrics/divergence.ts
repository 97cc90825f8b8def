// Per-position comparisons of two next-token distributions given as log-probabilities (natural log).

/** -log p(target). */
export function negativeLogLikelihood(logProbs: ArrayLike<number>, target: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= logProbs.length) {
    throw new RangeError(`target token ${target} outside vocabulary [0, ${logProbs.length})`);
  }
  return -logProbs[target];
}

/**
 * KL(p || q) = sum_i p_i (log p_i - log q_i), in nats. Terms with p_i = 0 contribute 0 (the limit),
 * even where q_i = 0 too; a q_i = 0 under p_i > 0 gives +Infinity, as it should.
 */
export function klDivergence(logP: ArrayLike<number>, logQ: ArrayLike<number>): number {
  if (logP.length !== logQ.length) throw new RangeError(`KL: distributions differ in size (${logP.length} vs ${logQ.length})`);
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const lp = logP[i];
    if (lp === -Infinity) continue;
    kl += Math.exp(lp) * (lp - logQ[i]);
  }
  // Rounding can leave a tiny negative value for identical distributions; KL is never negative.
  return kl < 0 ? 0 : kl;
}
