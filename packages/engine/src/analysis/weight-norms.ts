// Norms of each layer's key and value projections, whole and per KV head (the "weights" half of the
// K/V norm disparity). A layer's W_K is [kvHeads*headDim, hidden]; KV head h owns rows h*headDim..+headDim.
import type { ModelConfig, ModelWeights } from '../model/config';
import { matrix, rowBlock } from './matrix';
import type { Matrix } from './matrix';
import { matrixNorms } from './norms';

export interface NormPair {
  frobenius: number;
  spectral: number;
}

export interface ProjectionNorms extends NormPair {
  /** One entry per KV head. */
  heads: NormPair[];
}

export interface LayerWeightNorms {
  wk: ProjectionNorms;
  wv: ProjectionNorms;
}

export function projectionNorms(w: Matrix, kvHeads: number, headDim: number): ProjectionNorms {
  if (w.rows !== kvHeads * headDim) {
    throw new Error(`projectionNorms: matrix has ${w.rows} rows, expected kvHeads*headDim = ${kvHeads * headDim}`);
  }
  const whole = matrixNorms(w);
  const heads: NormPair[] = [];
  for (let h = 0; h < kvHeads; h++) {
    const n = matrixNorms(rowBlock(w, h * headDim, (h + 1) * headDim));
    heads.push({ frobenius: n.frobenius, spectral: n.spectral });
  }
  return { frobenius: whole.frobenius, spectral: whole.spectral, heads };
}

/** Per-layer norms of W_K and W_V as stored (no bias, no QK-norm folded in). */
export function weightNorms(config: ModelConfig, weights: ModelWeights): LayerWeightNorms[] {
  const rows = config.kvHeads * config.headDim;
  return weights.layers.map((lw, l) => {
    for (const [name, w] of [['wk', lw.wk], ['wv', lw.wv]] as const) {
      if (w.length !== rows * config.hiddenSize) {
        throw new Error(`layer ${l} ${name}: ${w.length} weights, expected ${rows} x ${config.hiddenSize}`);
      }
    }
    return {
      wk: projectionNorms(matrix(rows, config.hiddenSize, lw.wk), config.kvHeads, config.headDim),
      wv: projectionNorms(matrix(rows, config.hiddenSize, lw.wv), config.kvHeads, config.headDim),
    };
  });
}
