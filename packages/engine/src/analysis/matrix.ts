// A dense row-major float64 matrix: the one shape every analysis routine takes and returns.

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major: element (r, c) at data[r * cols + c]. */
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new Error(`matrix: rows and cols must be non-negative integers, got ${rows} x ${cols}`);
  }
  if (data && data.length !== rows * cols) {
    throw new Error(`matrix: ${rows} x ${cols} needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data: data ? Float64Array.from(data) : new Float64Array(rows * cols) };
}

export function transpose(a: Matrix): Matrix {
  const t = matrix(a.cols, a.rows);
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) t.data[c * a.rows + r] = a.data[r * a.cols + c];
  return t;
}

export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`multiply: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const out = matrix(a.rows, b.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[r * a.cols + k];
      if (v === 0) continue;
      const bo = k * b.cols;
      const oo = r * b.cols;
      for (let c = 0; c < b.cols; c++) out.data[oo + c] += v * b.data[bo + c];
    }
  }
  return out;
}

/** Rows [start, end) of `a` as a new matrix (a per-head slice of a stacked projection). */
export function rowBlock(a: Matrix, start: number, end: number): Matrix {
  return matrix(end - start, a.cols, a.data.subarray(start * a.cols, end * a.cols));
}

/** Columns [start, end) of `a` as a new matrix (one KV head of a [tokens, kvHeads*headDim] cache). */
export function columnBlock(a: Matrix, start: number, end: number): Matrix {
  const out = matrix(a.rows, end - start);
  for (let r = 0; r < a.rows; r++) out.data.set(a.data.subarray(r * a.cols + start, r * a.cols + end), r * (end - start));
  return out;
}
