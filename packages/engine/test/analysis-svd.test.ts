import { describe, expect, it } from 'vitest';
import type { Matrix } from '../src/analysis/matrix';
import { matrix, multiply, transpose } from '../src/analysis/matrix';
import { frobeniusNorm, matrixNorms, spectralNorm } from '../src/analysis/norms';
import { JACOBI_MAX_SIDE, householderQr, singularValues, singularValuesAuto, singularValuesByGram, svd } from '../src/analysis/svd';
import { symmetricEigenvalues } from '../src/analysis/symmetric-eigen';
import { gaussianMatrix, randomOrthogonal, withSpectrum } from './analysis-helpers';

function maxAbsDiff(a: Matrix, b: Matrix): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

function identityError(q: Matrix): number {
  const g = multiply(transpose(q), q);
  let m = 0;
  for (let i = 0; i < g.rows; i++) for (let j = 0; j < g.cols; j++) m = Math.max(m, Math.abs(g.data[i * g.cols + j] - (i === j ? 1 : 0)));
  return m;
}

function reconstruct(u: Matrix, s: Float64Array, v: Matrix): Matrix {
  const us = matrix(u.rows, u.cols, u.data);
  for (let i = 0; i < us.rows; i++) for (let j = 0; j < us.cols; j++) us.data[i * us.cols + j] *= s[j];
  return multiply(us, transpose(v));
}

describe('SVD (one-sided Jacobi, float64)', () => {
  it('recovers a hand-computable spectrum: [[3,0],[4,5]] has singular values sqrt(45), sqrt(5)', () => {
    const s = singularValues(matrix(2, 2, [3, 0, 4, 5]));
    expect(s[0]).toBeCloseTo(Math.sqrt(45), 14);
    expect(s[1]).toBeCloseTo(Math.sqrt(5), 14);
    expect(spectralNorm(matrix(2, 2, [3, 0, 4, 5]))).toBeCloseTo(Math.sqrt(45), 14);
    expect(frobeniusNorm(matrix(2, 2, [3, 0, 4, 5]))).toBeCloseTo(Math.sqrt(50), 14);
  });

  for (const [m, n] of [[60, 24], [16, 40], [32, 32], [1, 7], [9, 1]] as const) {
    it(`matches a known spectrum to 1e-10 relative and reconstructs U S V^T (${m} x ${n})`, () => {
      const k = Math.min(m, n);
      // Spread over six decades, with one exact zero when there is room: Q1 diag(s) Q2^T.
      const known = Array.from({ length: k }, (_, i) => (k > 2 && i === k - 1 ? 0 : 1e3 * Math.pow(1e-6, i / Math.max(k - 1, 1)) * (1 + Math.random())));
      known.sort((a, b) => b - a);
      const a = withSpectrum(m, n, known);
      const { u, s, v } = svd(a);
      expect(s.length).toBe(k);
      for (let i = 0; i < k; i++) {
        if (known[i] === 0) expect(s[i]).toBeLessThan(1e-12 * known[0]);
        else expect(Math.abs(s[i] - known[i]) / known[i]).toBeLessThan(1e-10);
      }
      expect(maxAbsDiff(reconstruct(u, s, v), a) / known[0]).toBeLessThan(1e-13);
      expect(identityError(v)).toBeLessThan(1e-12);
      // U's columns for a zero singular value are zero by contract; check the rest.
      const nonzero = Array.from(s).filter((x) => x > 1e-12 * s[0]).length;
      const uNz = matrix(u.rows, nonzero);
      for (let i = 0; i < u.rows; i++) for (let j = 0; j < nonzero; j++) uNz.data[i * nonzero + j] = u.data[i * u.cols + j];
      expect(identityError(uNz)).toBeLessThan(1e-9);
      const only = singularValues(a);
      for (let i = 0; i < k; i++) expect(Math.abs(only[i] - s[i])).toBeLessThan(1e-12 * known[0]);
    });
  }

  it('Frobenius^2 equals the sum of squared singular values on Gaussian matrices', () => {
    const a = gaussianMatrix(70, 33);
    const { frobenius, spectral, singularValues: s } = matrixNorms(a);
    const ss = s.reduce((t, x) => t + x * x, 0);
    expect(Math.abs(ss - frobenius * frobenius) / ss).toBeLessThan(1e-13);
    expect(spectral).toBe(s[0]);
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
  });

  it('Householder QR: Q orthonormal, R upper triangular, QR = A', () => {
    const a = gaussianMatrix(40, 12);
    const { q, r } = householderQr(a);
    expect(identityError(q!)).toBeLessThan(1e-13);
    for (let i = 0; i < 12; i++) for (let j = 0; j < i; j++) expect(r.data[i * 12 + j]).toBe(0);
    expect(maxAbsDiff(multiply(q!, r), a)).toBeLessThan(1e-12);
  });

  it('handles the zero matrix and rank one', () => {
    expect(Array.from(singularValues(matrix(4, 3)))).toEqual([0, 0, 0]);
    const rankOne = matrix(3, 2, [1, 2, 2, 4, 3, 6]); // [1,2,3]^T [1,2]
    const s = singularValues(rankOne);
    expect(s[0]).toBeCloseTo(Math.sqrt(14) * Math.sqrt(5), 13);
    expect(s[1]).toBeLessThan(1e-14);
  });
});

describe('symmetric eigenvalues and the Gram route for wide layers', () => {
  it('symmetricEigenvalues recovers a known spectrum Q diag(λ) Qᵀ (with negatives and repeats)', () => {
    for (const n of [1, 2, 5, 40]) {
      const lambda = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 2.5 : (Math.random() - 0.5) * 10));
      const q = randomOrthogonal(n);
      const a = matrix(n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q.data[i * n + k] * lambda[k] * q.data[j * n + k];
        a.data[i * n + j] = s;
      }
      const got = Array.from(symmetricEigenvalues(a));
      const want = [...lambda].sort((x, y) => x - y);
      got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12 * 10 * n));
    }
    const two = symmetricEigenvalues(matrix(2, 2, [2, 1, 1, 2]));
    expect(two[0]).toBeCloseTo(1, 14);
    expect(two[1]).toBeCloseTo(3, 14);
  });

  it('singularValuesByGram matches Jacobi to 1e-10 relative on a well-conditioned wide matrix, and auto picks it above 256', () => {
    const known = Array.from({ length: 30 }, (_, i) => 5 * Math.pow(0.01, i / 29));
    const a = withSpectrum(30, 90, known);
    const g = singularValuesByGram(a);
    known.forEach((s, i) => expect(Math.abs(g[i] - s) / s).toBeLessThan(1e-10));
    const wide = gaussianMatrix(JACOBI_MAX_SIDE + 20, 300);
    const auto = singularValuesAuto(wide);
    const jac = singularValues(wide);
    expect(Math.abs(auto[0] - jac[0]) / jac[0]).toBeLessThan(1e-12);
    const mid = 100;
    expect(Math.abs(auto[mid] - jac[mid]) / jac[mid]).toBeLessThan(1e-9);
  });
});
