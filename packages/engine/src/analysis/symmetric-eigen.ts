// Eigenvalues of a real symmetric matrix: Householder reduction to tridiagonal form, then implicit QL
// with Wilkinson shifts (the EISPACK tred/tql pair, as in Numerical Recipes' tred2/tqli without
// eigenvectors). O(n³) with a small constant: what makes singular values of wide layers (1024+ columns)
// affordable through the Gram matrix.
import type { Matrix } from './matrix';

const EPS = 2.220446049250313e-16;
const MAX_QL_ITERATIONS = 60;

/** Eigenvalues of symmetric `a` (only its lower triangle is read), ascending. */
export function symmetricEigenvalues(a: Matrix): Float64Array {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`symmetricEigenvalues: matrix is ${a.rows} x ${a.cols}, not square`);
  const w = Float64Array.from(a.data);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return d;

  // Householder tridiagonalization (lower triangle), keeping only the diagonal d and off-diagonal e.
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(w[i * n + k]);
      if (scale === 0) {
        e[i] = w[i * n + l];
      } else {
        for (let k = 0; k <= l; k++) {
          w[i * n + k] /= scale;
          h += w[i * n + k] * w[i * n + k];
        }
        let f = w[i * n + l];
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        w[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          g = 0;
          for (let k = 0; k <= j; k++) g += w[j * n + k] * w[i * n + k];
          for (let k = j + 1; k <= l; k++) g += w[k * n + j] * w[i * n + k];
          e[j] = g / h;
          f += e[j] * w[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          f = w[i * n + j];
          g = e[j] - hh * f;
          e[j] = g;
          for (let k = 0; k <= j; k++) w[j * n + k] -= f * e[k] + g * w[i * n + k];
        }
      }
    } else {
      e[i] = w[i * n + l];
    }
  }
  for (let i = 0; i < n; i++) d[i] = w[i * n + i];
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;

  // Implicit QL on the tridiagonal matrix.
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= EPS * dd) break;
      }
      if (m !== l) {
        if (iterations++ === MAX_QL_ITERATIONS) throw new Error('symmetricEigenvalues: QL iteration did not converge');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d.sort();
}
