// Matrix norms used by the K/V disparity analysis (Hariri et al., Theorem 1: Frobenius and spectral).
import type { Matrix } from './matrix';
import { singularValuesAuto } from './svd';

export function frobeniusNorm(a: Matrix | ArrayLike<number>): number {
  const data = 'data' in a ? a.data : a;
  let ss = 0;
  for (let i = 0; i < data.length; i++) ss += data[i] * data[i];
  return Math.sqrt(ss);
}

/** Largest singular value. */
export function spectralNorm(a: Matrix): number {
  if (a.rows === 0 || a.cols === 0) return 0;
  return singularValuesAuto(a)[0];
}

export interface MatrixNorms {
  frobenius: number;
  spectral: number;
}

/** Both norms and the whole spectrum from one SVD (Jacobi, or the Gram route for wide matrices). */
export function matrixNorms(a: Matrix): MatrixNorms & { singularValues: Float64Array } {
  const s = a.rows === 0 || a.cols === 0 ? new Float64Array(0) : singularValuesAuto(a);
  return { frobenius: frobeniusNorm(a), spectral: s.length ? s[0] : 0, singularValues: s };
}
