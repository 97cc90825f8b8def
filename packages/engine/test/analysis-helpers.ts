// Shared helpers for the analysis tests: Gaussian samples, random orthogonal matrices, stories260K.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Matrix } from '../src/analysis/matrix';
import { matrix, multiply, transpose } from '../src/analysis/matrix';
import type { LoadedModel } from '../src/model/config';
import { loadModel } from '../src/model/load';

export function randn(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

export function gaussianMatrix(rows: number, cols: number): Matrix {
  return matrix(rows, cols, Array.from({ length: rows * cols }, randn));
}

/**
 * A Haar-random n x n orthogonal matrix by Gram-Schmidt (twice, for float64 orthogonality) on a Gaussian
 * matrix: deliberately not the Householder QR under test.
 */
export function randomOrthogonal(n: number): Matrix {
  const cols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = Float64Array.from({ length: n }, randn);
    for (let pass = 0; pass < 2; pass++) {
      for (const c of cols) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += c[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= dot * c[i];
      }
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    cols.push(v.map((x) => x / norm));
  }
  const q = matrix(n, n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) q.data[i * n + j] = cols[j][i];
  return q;
}

/** Q1[:, :k] diag(s) Q2[:, :k]^T: an m x n matrix whose singular values are exactly s (k = s.length). */
export function withSpectrum(m: number, n: number, s: readonly number[]): Matrix {
  const q1 = randomOrthogonal(m);
  const q2 = randomOrthogonal(n);
  const left = matrix(m, s.length);
  for (let i = 0; i < m; i++) for (let j = 0; j < s.length; j++) left.data[i * s.length + j] = q1.data[i * m + j] * s[j];
  const right = matrix(s.length, n);
  const q2t = transpose(q2);
  right.data.set(q2t.data.subarray(0, s.length * n));
  return multiply(left, right);
}

export const STORIES_TOKENIZER = fileURLToPath(new URL('../assets/stories260k/tok512.bin', import.meta.url));
export const TINYSTORIES = fileURLToPath(new URL('../assets/data/tinystories/valid-a.txt', import.meta.url));

export function loadStories260k(): Promise<LoadedModel> {
  return loadModel('stories260k');
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
