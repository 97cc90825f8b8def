// The reference's one kernel that matters for time: y = W x for a block of tokens. Self-contained (no
// imports, no closures) because matmul-threads.ts ships its source text to helper threads, so the helpers
// run these very sums.

/**
 * y[t, r] = W[r, :] . x[t, :] (+ bias[r]) for output rows r0 <= r < r1 and `tokens` rows of x. Each weight
 * row is read once for all tokens (four at a time), and every dot product sums over `cols` in order, so
 * the result is the same, bit for bit, as one token at a time, and as any split of the rows.
 */
export function matmulRows(
  y: Float64Array, x: Float64Array, w: Float32Array, rows: number, cols: number,
  bias: Float32Array | undefined | null, tokens: number, r0: number, r1: number,
): void {
  for (let r = r0; r < r1; r++) {
    const offset = r * cols;
    let t = 0;
    for (; t + 4 <= tokens; t += 4) {
      const x0 = t * cols;
      const x1 = x0 + cols;
      const x2 = x1 + cols;
      const x3 = x2 + cols;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let c = 0; c < cols; c++) {
        const wc = w[offset + c];
        s0 += wc * x[x0 + c];
        s1 += wc * x[x1 + c];
        s2 += wc * x[x2 + c];
        s3 += wc * x[x3 + c];
      }
      y[t * rows + r] = bias ? s0 + bias[r] : s0;
      y[(t + 1) * rows + r] = bias ? s1 + bias[r] : s1;
      y[(t + 2) * rows + r] = bias ? s2 + bias[r] : s2;
      y[(t + 3) * rows + r] = bias ? s3 + bias[r] : s3;
    }
    for (; t < tokens; t++) {
      const xt = t * cols;
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += w[offset + c] * x[xt + c];
      y[t * rows + r] = bias ? sum + bias[r] : sum;
    }
  }
}

/** y = W x (+ bias) for `tokens` rows of x: [tokens, cols] -> [tokens, rows]. */
export type Matmul = (y: Float64Array, x: Float64Array, w: Float32Array, rows: number, cols: number, bias?: Float32Array, tokens?: number) => void;

/** The whole product on the calling thread. */
export const matmul: Matmul = (y, x, w, rows, cols, bias, tokens = 1) => matmulRows(y, x, w, rows, cols, bias, tokens, 0, rows);
