// Log-probabilities from logits in float64: subtract the max before exponentiating so large logits
// cannot overflow, and accumulate the normaliser in float64 so a 100k-entry vocabulary loses nothing.

/** log softmax(logits) in float64. Non-finite logits give NaN entries (counted by the caller, never hidden). */
export function logSoftmax(logits: ArrayLike<number>, into?: Float64Array): Float64Array {
  const n = logits.length;
  const out = into ?? new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);
  for (let i = 0; i < n; i++) out[i] = logits[i] - logZ;
  return out;
}

/** Index of the largest entry (the first one on ties, as torch.argmax / numpy.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
