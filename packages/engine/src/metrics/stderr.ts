// Standard errors, following lm-evaluation-harness conventions so numbers are comparable with it.

/** Arithmetic mean; NaN for an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Standard error of the mean with the sample (n-1) standard deviation, as lm-eval's mean_stderr. NaN below 2 values. */
export function meanStderr(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (n - 1) / n);
}

/**
 * Standard error of an accuracy over n items: the sample standard deviation of the 0/1 outcomes over
 * sqrt(n), i.e. sqrt(p(1-p)/(n-1)) (lm-eval's convention for acc). NaN below 2 items.
 */
export function binomialStderr(correct: number, n: number): number {
  if (n < 2) return NaN;
  const p = correct / n;
  return Math.sqrt((p * (1 - p)) / (n - 1));
}

/**
 * Per-token mean of a quantity summed per cluster (document), with its cluster-robust standard error:
 * ratio estimate r = sum S_d / sum n_d, se = sqrt(D/(D-1) * sum (S_d - r n_d)^2) / sum n_d.
 * Tokens inside one document are correlated, so the documents, not the tokens, are the independent
 * units; with equal-length documents this is exactly the standard error of the per-document means.
 */
export function clusteredMean(sums: readonly number[], counts: readonly number[]): { mean: number; stderr: number } {
  if (sums.length !== counts.length) throw new RangeError('clusteredMean: sums and counts differ in length');
  const D = sums.length;
  let total = 0;
  let n = 0;
  for (let d = 0; d < D; d++) {
    total += sums[d];
    n += counts[d];
  }
  if (n === 0) return { mean: NaN, stderr: NaN };
  const r = total / n;
  if (D < 2) return { mean: r, stderr: NaN };
  let ss = 0;
  for (let d = 0; d < D; d++) {
    const e = sums[d] - r * counts[d];
    ss += e * e;
  }
  return { mean: r, stderr: Math.sqrt((D / (D - 1)) * ss) / n };
}
