// What every head-vector rotation offers: apply Π, apply Πᵀ, and the explicit matrix for ONNX.
// inputDim may be smaller than outputDim (zero padding up to a power of two for Walsh-Hadamard); then
// Π is an isometry outputDim x inputDim with ΠᵀΠ = I, so inner products and norms are preserved.

export interface Rotation {
  readonly kind: 'hadamard' | 'haar' | 'identity';
  readonly seed: number;
  /** Length of the vectors rotated (head_dim). */
  readonly inputDim: number;
  /** Length of the rotated vectors (head_dim, or the next power of two for padded Walsh-Hadamard). */
  readonly outputDim: number;
  /** y = Π x (x: inputDim, y: outputDim). */
  apply(x: ArrayLike<number>, out?: Float64Array): Float64Array;
  /** x = Πᵀ y (y: outputDim, x: inputDim); the inverse on the range of Π. */
  applyTranspose(y: ArrayLike<number>, out?: Float64Array): Float64Array;
  /** Π as a row-major outputDim x inputDim matrix. */
  matrix(): Float64Array;
}

/** The explicit matrix of any rotation, by applying it to the unit vectors (column j = Π e_j). */
export function rotationMatrix(r: Pick<Rotation, 'inputDim' | 'outputDim' | 'apply'>): Float64Array {
  const m = new Float64Array(r.outputDim * r.inputDim);
  const e = new Float64Array(r.inputDim);
  for (let j = 0; j < r.inputDim; j++) {
    e.fill(0);
    e[j] = 1;
    const col = r.apply(e);
    for (let i = 0; i < r.outputDim; i++) m[i * r.inputDim + j] = col[i];
  }
  return m;
}

export function checkLength(what: string, x: ArrayLike<number>, expected: number): void {
  if (x.length !== expected) throw new Error(`${what}: vector has length ${x.length}, expected ${expected}`);
}
