// Float64 reference of everything in this package, written plainly (arrays of numbers, one group at a
// time, no typed-array tricks) so the fast fp32 paths can be checked against it on random inputs.
// Group layouts are derived here the way the libraries get them, by reshape and transpose of the flat
// tensor, independently of layout.ts's index arithmetic.

import type { GroupAxis, HqqMode, MetaDtype } from './config';
import { maxCode } from './widths';

/** Round half to even, the slow obvious way. */
export function referenceRne(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const FORMATS = {
  fp16: { precision: 11, minExponent: -14, max: 65504 },
  bf16: { precision: 8, minExponent: -126, max: 3.3895313892515355e38 },
} as const;

/** Rounds a float64 once to the dtype, saturating at its largest finite value (metadata semantics). */
export function referenceRoundMeta(x: number, dtype: MetaDtype): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (dtype === 'fp32') {
    const r = Math.fround(x);
    return Number.isFinite(r) ? r : Math.sign(x) * 3.4028234663852886e38;
  }
  const { precision, minExponent, max } = FORMATS[dtype];
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  if (e < minExponent) e = minExponent; // subnormals share the smallest exponent's spacing
  const ulp = 2 ** (e - (precision - 1));
  const r = Math.min(referenceRne(a / ulp) * ulp, max);
  return x < 0 ? -r : r;
}

/** Applies `perm` to a row-major tensor of `dims`; returns the source flat index of each output element. */
function transposeIndices(dims: number[], perm: number[]): number[] {
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const outDims = perm.map((p) => dims[p]);
  const total = dims.reduce((a, b) => a * b, 1);
  const result: number[] = [];
  const pos = outDims.map(() => 0);
  for (let k = 0; k < total; k++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += pos[i] * strides[perm[i]];
    result.push(src);
    for (let i = pos.length - 1; i >= 0; i--) {
      if (++pos[i] < outDims[i]) break;
      pos[i] = 0;
    }
  }
  return result;
}

/** Members (flat indices) of each group, in the same group order as layout.ts documents. */
export function referenceGroups(shape: readonly number[], axis: GroupAxis, G: number): number[][] {
  const [B, H, S, D] = shape;
  const N = B * H * S * D;
  const groups: number[][] = [];
  if (axis === 'per-token') {
    // reshape [N/G, G]: rows are groups (Quanto axis 0, HQQ axis 1)
    for (let j = 0; j < N / G; j++) groups.push(Array.from({ length: G }, (_, i) => j * G + i));
  } else if (axis === 'hqq-per-channel') {
    // reshape [G, N/G]: columns are groups (HQQ axis 0)
    const cols = N / G;
    for (let j = 0; j < cols; j++) groups.push(Array.from({ length: G }, (_, i) => i * cols + j));
  } else if (axis === 'quanto-per-channel') {
    // Quanto axis -1: [R/G, G, D] -> permute(1, 2, 0) -> [G, D*R/G]; column c is group c
    const R = B * H * S;
    const t = transposeIndices([R / G, G, D], [1, 2, 0]);
    const cols = (D * R) / G;
    for (let c = 0; c < cols; c++) groups.push(Array.from({ length: G }, (_, i) => t[i * cols + c]));
  } else {
    // KIVI: [B, H, S/G, G, D] -> [B, H, S/G, D, G]; the last axis is a group
    const t = transposeIndices([B, H, S / G, G, D], [0, 1, 2, 4, 3]);
    for (let j = 0; j < N / G; j++) groups.push(t.slice(j * G, j * G + G));
  }
  return groups;
}

export interface ReferenceGroupResult {
  codes: number[];
  scale: number;
  /** quanto: shift; hqq: zero */
  zero: number;
  xhat: number[];
  /** The value rounded to give each code: (x + shift)/scale for quanto, x*s^ + z for HQQ. */
  preRound: number[];
  /** HQQ: the unrounded zero z (code space). */
  rawZero?: number;
}

function finiteRange(x: number[]): [number, number] {
  const finite = x.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [0, 0];
  return [Math.min(...finite), Math.max(...finite)];
}

/** Quanto min-max (§1, §3) in float64 with metadata rounded to its dtype before use. */
export function referenceQuanto(x: number[], bits: number, metaDtype: MetaDtype): ReferenceGroupResult {
  const Q = maxCode(bits);
  const [m, M] = finiteRange(x);
  const scale = referenceRoundMeta((M - m) / Q, metaDtype);
  const shift = referenceRoundMeta(-m, metaDtype);
  const codes = x.map((v) => {
    if (!Number.isFinite(v) || scale === 0) return 0;
    return Math.min(Math.max(referenceRne((v + shift) / scale), 0), Q);
  });
  const xhat = x.map((v, i) => (Number.isFinite(v) ? scale * codes[i] - shift : v));
  return { codes, scale, zero: shift, xhat, preRound: x.map((v) => (v + shift) / scale) };
}

export interface ReferenceHqqResult {
  groups: ReferenceGroupResult[];
  iterations: number;
}

/** HQQ (§4) in float64 over a whole tensor given as its groups (the faithful solver's stop is global). */
export function referenceHqq(groups: number[][], bits: number, mode: HqqMode, metaDtype: MetaDtype): ReferenceHqqResult {
  const Q = maxCode(bits);
  const p = 0.7;
  const beta = 10;
  const iters = 20;
  const quant = (v: number, invScale: number, z: number) => Math.min(Math.max(referenceRne(v * invScale + z), 0), Q);
  const shrink = (e: number) => Math.sign(e) * Math.max(Math.abs(e) - (1 / beta) * Math.abs(e) ** (p - 1), 0);
  const finite = groups.map((g) => g.filter((v) => Number.isFinite(v)));

  const invScales = finite.map((g) => {
    const [m, M] = finiteRange(g);
    const denom = M - m;
    if (mode === 'faithful') return Math.min(Math.abs(denom) <= 1e-4 ? 1 : Q / denom, 2e4);
    if (denom === 0) return 1;
    const maxAbs = Math.max(Math.abs(m), Math.abs(M));
    const limit = metaDtype === 'fp16' ? Math.min(2 ** 14, 2 ** 15 / maxAbs) : Math.min(2 ** 100, 2 ** 100 / maxAbs);
    return Math.min(Q / denom, limit);
  });
  let zeros = finite.map((g, j) => -finiteRange(g)[0] * invScales[j]);

  // One solver step for group j with zero z: [new zero, sum |x - x^|, count].
  const step = (j: number, z: number): [number, number] => {
    const s = invScales[j];
    let zSum = 0;
    let err = 0;
    for (const v of finite[j]) {
      const q = quant(v, s, z);
      const xr = (q - z) / s;
      err += Math.abs(v - xr);
      zSum += q - (v - shrink(v - xr)) * s;
    }
    return [finite[j].length ? zSum / finite[j].length : z, err];
  };
  const reconstructionError = (j: number, z: number) => {
    const scale = referenceRoundMeta(1 / invScales[j], metaDtype);
    const zero = referenceRoundMeta(z, metaDtype);
    const errs = finite[j].map((v) => Math.abs(v - (quant(v, invScales[j], z) - zero) * scale));
    return errs.length ? errs.reduce((a, b) => a + b, 0) / errs.length : 0;
  };

  let iterations = 0;
  if (mode === 'faithful') {
    const count = finite.reduce((a, g) => a + g.length, 0);
    let best = 1e4;
    for (let it = 0; it < iters; it++) {
      const steps = zeros.map((z, j) => step(j, z));
      const err = steps.reduce((a, s) => a + s[1], 0) / count;
      zeros = steps.map((s) => s[0]);
      iterations++;
      if (err < best) best = err;
      else break;
    }
  } else {
    zeros = zeros.map((z0, j) => {
      let best = reconstructionError(j, z0);
      let bestZ = z0;
      let z = z0;
      for (let it = 0; it < iters; it++) {
        z = step(j, z)[0];
        iterations = Math.max(iterations, it + 1);
        const err = reconstructionError(j, z);
        if (err < best) {
          best = err;
          bestZ = z;
        } else break;
      }
      return bestZ;
    });
  }

  return {
    iterations,
    groups: groups.map((g, j) => {
      const scale = referenceRoundMeta(1 / invScales[j], metaDtype);
      const zero = referenceRoundMeta(zeros[j], metaDtype);
      const codes = g.map((v) => (Number.isFinite(v) ? quant(v, invScales[j], zeros[j]) : 0));
      const xhat = g.map((v, i) => (Number.isFinite(v) ? (codes[i] - zero) * scale : v));
      const preRound = g.map((v) => v * invScales[j] + zeros[j]);
      return { codes, scale, zero, xhat, preRound, rawZero: zeros[j] };
    }),
  };
}

/** Dense packing, bit by bit: code k occupies bits [k*b, k*b+b) of a little-endian bit stream. */
export function referencePack(codes: ArrayLike<number>, bits: number): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(codes.length / 8) * bits);
  for (let k = 0; k < codes.length; k++) {
    for (let t = 0; t < bits; t++) {
      const bit = (codes[k] >> t) & 1;
      const pos = k * bits + t;
      bytes[pos >> 3] |= bit << (pos & 7);
    }
  }
  return bytes;
}
