// Norms and singular-value spectra of one layer's cached keys or values: the whole [tokens, kvDim]
// matrix, each KV head's [tokens, headDim] block, and per-index bands across heads (the paper's figure:
// singular value by index, min-max band across heads, mean line).
import type { Matrix } from './matrix';
import { columnBlock } from './matrix';
import { matrixNorms } from './norms';
import type { NormPair } from './weight-norms';

export interface SpectrumBand {
  min: number[];
  max: number[];
  mean: number[];
}

export interface CacheSpectra extends NormPair {
  tokens: number;
  /** Singular values of the whole [tokens, kvHeads*headDim] matrix, descending. */
  singularValues: number[];
  heads: NormPair[];
  /** Per index i: min/max/mean over KV heads of head h's i-th singular value. */
  headSingularValues: SpectrumBand;
}

export function cacheSpectra(cache: Matrix, kvHeads: number, headDim: number): CacheSpectra {
  if (cache.cols !== kvHeads * headDim) {
    throw new Error(`cacheSpectra: cache has ${cache.cols} columns, expected kvHeads*headDim = ${kvHeads * headDim}`);
  }
  const whole = matrixNorms(cache);
  const heads: NormPair[] = [];
  const spectra: Float64Array[] = [];
  for (let h = 0; h < kvHeads; h++) {
    const n = matrixNorms(columnBlock(cache, h * headDim, (h + 1) * headDim));
    heads.push({ frobenius: n.frobenius, spectral: n.spectral });
    spectra.push(n.singularValues);
  }
  const count = Math.min(...spectra.map((s) => s.length));
  const band: SpectrumBand = { min: [], max: [], mean: [] };
  for (let i = 0; i < count; i++) {
    const column = spectra.map((s) => s[i]);
    band.min.push(Math.min(...column));
    band.max.push(Math.max(...column));
    band.mean.push(column.reduce((a, b) => a + b, 0) / column.length);
  }
  return {
    frobenius: whole.frobenius,
    spectral: whole.spectral,
    tokens: cache.rows,
    singularValues: Array.from(whole.singularValues),
    heads,
    headSingularValues: band,
  };
}
