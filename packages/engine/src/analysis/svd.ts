// Singular value decomposition by one-sided Jacobi (Hestenes) in float64. Jacobi is slower than
// Golub-Kahan but simple and accurate to high relative precision even for small singular values,
// which is what a diagnostics yardstick wants. Tall inputs are first reduced to their square R factor
// by Householder QR, so the Jacobi sweeps cost O(n^3) rather than O(m n^2) per sweep.
import type { Matrix } from './matrix';
import { matrix, multiply, transpose } from './matrix';
import { symmetricEigenvalues } from './symmetric-eigen';

export interface Svd {
  /** m x k, orthonormal columns (k = min(m, n)); columns for zero singular values are zero. */
  u: Matrix;
  /** k singular values, descending. */
  s: Float64Array;
  /** n x k, orthonormal columns. */
  v: Matrix;
}

const MAX_SWEEPS = 80;
const EPS = 2.220446049250313e-16;

/** Householder QR of a tall m x n matrix (m >= n): returns Q (m x n, thin) and R (n x n, upper). */
export function householderQr(a: Matrix, wantQ = true): { q: Matrix | null; r: Matrix } {
  const { rows: m, cols: n } = a;
  if (m < n) throw new Error(`householderQr: needs rows >= cols, got ${m} x ${n}`);
  // Work column-major: the reflectors touch columns.
  const w = new Float64Array(m * n);
  for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) w[c * m + r] = a.data[r * n + c];
  const reflectors: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const col = j * m;
    let ss = 0;
    for (let i = j; i < m; i++) ss += w[col + i] * w[col + i];
    const norm = Math.sqrt(ss);
    const v = new Float64Array(m - j);
    if (norm === 0) {
      reflectors.push(v);
      continue;
    }
    const alpha = w[col + j] > 0 ? -norm : norm;
    for (let i = j; i < m; i++) v[i - j] = w[col + i];
    v[0] -= alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    if (vv === 0) {
      reflectors.push(new Float64Array(m - j));
      continue;
    }
    for (let c = j; c < n; c++) {
      const cc = c * m;
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j] * w[cc + i];
      const f = (2 * dot) / vv;
      for (let i = j; i < m; i++) w[cc + i] -= f * v[i - j];
    }
    const scale = Math.sqrt(2 / vv);
    for (let i = 0; i < v.length; i++) v[i] *= scale; // now H = I - v v^T
    reflectors.push(v);
  }
  const r = matrix(n, n);
  for (let i = 0; i < n; i++) for (let c = i; c < n; c++) r.data[i * n + c] = w[c * m + i];
  if (!wantQ) return { q: null, r };
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity.
  const q = new Float64Array(m * n); // column-major
  for (let c = 0; c < n; c++) q[c * m + c] = 1;
  for (let j = n - 1; j >= 0; j--) {
    const v = reflectors[j];
    for (let c = 0; c < n; c++) {
      const cc = c * m;
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j] * q[cc + i];
      if (dot === 0) continue;
      for (let i = j; i < m; i++) q[cc + i] -= dot * v[i - j];
    }
  }
  const qm = matrix(m, n);
  for (let rr = 0; rr < m; rr++) for (let c = 0; c < n; c++) qm.data[rr * n + c] = q[c * m + rr];
  return { q: qm, r };
}

/**
 * One-sided Jacobi on the columns of a square-or-tall matrix given column-major in `w` (m x n).
 * Orthogonalizes the columns in place and accumulates the rotations into `v` (n x n, column-major).
 */
function jacobiColumns(w: Float64Array, m: number, n: number, v: Float64Array | null): void {
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const po = p * m;
        const qo = q * m;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = w[po + i];
          const y = w[qo + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // Rotation angle that zeroes the (p, q) entry of the column Gram matrix.
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = w[po + i];
          const y = w[qo + i];
          w[po + i] = c * x - s * y;
          w[qo + i] = s * x + c * y;
        }
        if (v) {
          const pv = p * n;
          const qv = q * n;
          for (let i = 0; i < n; i++) {
            const x = v[pv + i];
            const y = v[qv + i];
            v[pv + i] = c * x - s * y;
            v[qv + i] = s * x + c * y;
          }
        }
      }
    }
    if (!rotated) return;
  }
}

/** Thin SVD a = U diag(s) V^T of any m x n matrix. */
export function svd(a: Matrix): Svd {
  if (a.rows < a.cols) {
    // A^T = U' S V'^T  =>  A = V' S U'^T
    const t = svd(transpose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const { rows: m, cols: n } = a;
  let q: Matrix | null = null;
  let base = a;
  if (m > n) {
    const qr = householderQr(a, true);
    q = qr.q;
    base = qr.r;
  }
  const rows = base.rows;
  const w = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) w[c * rows + r] = base.data[r * n + c];
  const vAcc = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vAcc[i * n + i] = 1;
  jacobiColumns(w, rows, n, vAcc);

  const sigma = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += w[c * rows + i] * w[c * rows + i];
    sigma[c] = Math.sqrt(ss);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => sigma[y] - sigma[x]);
  const s = new Float64Array(n);
  const uBase = matrix(rows, n);
  const v = matrix(n, n);
  order.forEach((src, dst) => {
    s[dst] = sigma[src];
    for (let i = 0; i < rows; i++) uBase.data[i * n + dst] = sigma[src] > 0 ? w[src * rows + i] / sigma[src] : 0;
    for (let i = 0; i < n; i++) v.data[i * n + dst] = vAcc[src * n + i];
  });
  return { u: q ? multiply(q, uBase) : uBase, s, v };
}

/** Singular values only, descending (skips forming U and V). */
export function singularValues(a: Matrix): Float64Array {
  const tall = a.rows >= a.cols ? a : transpose(a);
  const { rows: m, cols: n } = tall;
  const base = m > n ? householderQr(tall, false).r : tall;
  const rows = base.rows;
  const w = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) w[c * rows + r] = base.data[r * n + c];
  jacobiColumns(w, rows, n, null);
  const s = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += w[c * rows + i] * w[c * rows + i];
    s[c] = Math.sqrt(ss);
  }
  return s.sort().reverse();
}

/**
 * Singular values from the eigenvalues of the smaller Gram matrix (AᵀA or AAᵀ). O(m n min(m,n)) and fast
 * for wide layers, but squaring loses relative accuracy below about 1e-8·σ_max (those come back as ~0).
 */
export function singularValuesByGram(a: Matrix): Float64Array {
  const tall = a.rows >= a.cols ? a : transpose(a);
  const { rows: m, cols: n } = tall;
  const gram = matrix(n, n);
  // Lower triangle of AᵀA, accumulated row by row of A (cache-friendly for row-major storage).
  for (let r = 0; r < m; r++) {
    const off = r * n;
    for (let i = 0; i < n; i++) {
      const v = tall.data[off + i];
      if (v === 0) continue;
      const gi = i * n;
      for (let j = 0; j <= i; j++) gram.data[gi + j] += v * tall.data[off + j];
    }
  }
  const eig = symmetricEigenvalues(gram);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.sqrt(Math.max(eig[n - 1 - i], 0));
  return s;
}

/** Jacobi (accurate) up to this many columns on the short side, the Gram route above it. */
export const JACOBI_MAX_SIDE = 256;

/** Singular values, descending, by the method that suits the shape. */
export function singularValuesAuto(a: Matrix): Float64Array {
  return Math.min(a.rows, a.cols) <= JACOBI_MAX_SIDE ? singularValues(a) : singularValuesByGram(a);
}
