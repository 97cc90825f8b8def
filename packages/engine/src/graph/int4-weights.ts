// Blockwise 4-bit linear weights for com.microsoft MatMulNBits (contrib opset 1): asymmetric min-max per
// block of `blockSize` along K (the input features), quantized here in TS at graph-build time.
// Layouts (ORT contrib op docs, checked by test/graph-int4-weights.test.ts on the CPU provider):
//   B           uint8 [N, nBlocks, blockSize / 2], two codes per byte, first element in the low nibble
//   scales      float [N * nBlocks] (the graph's float type)
//   zero_points uint8 [N * ceil(nBlocks / 2)], packed 4-bit per row of N, first block in the low nibble
// Dequantized weight = (code - zero_point) * scale.
import { rne } from '@kvbench/quant';
import type { ModelConfig } from '../model';

export type WeightBits = 16 | 4;
export const WEIGHT_BITS: readonly WeightBits[] = [16, 4];
export const DEFAULT_WEIGHT_BLOCK_SIZE = 32;

/** How the decoder stores its linear-layer weights (q/k/v/o, gate/up/down). */
export interface WeightQuant {
  bits: WeightBits;
  /** Only for bits 4: elements per block along K (power of two, 16..256). */
  blockSize?: number;
}

/** An [N, K] weight in MatMulNBits form. */
export interface Int4Blocks {
  n: number;
  k: number;
  blockSize: number;
  nBlocks: number;
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

/** Errors name the option field (`weightBits`, `weightBlockSize`). */
export class WeightQuantError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'WeightQuantError';
  }
}

/** Checks the options alone (no model): returns the normalized form. */
export function validateWeightQuant(bits: unknown = 16, blockSize?: unknown): WeightQuant {
  if (bits !== 16 && bits !== 4) throw new WeightQuantError('weightBits', `got ${JSON.stringify(bits)}, allowed: 16, 4`);
  if (bits === 16) {
    if (blockSize !== undefined) throw new WeightQuantError('weightBlockSize', `got ${JSON.stringify(blockSize)}, only allowed with weightBits 4`);
    return { bits: 16 };
  }
  const b = blockSize ?? DEFAULT_WEIGHT_BLOCK_SIZE;
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 16 || b > 256 || (b & (b - 1)) !== 0) {
    throw new WeightQuantError('weightBlockSize', `got ${JSON.stringify(blockSize)}, allowed: a power of two from 16 to 256 (MatMulNBits)`);
  }
  return { bits: 4, blockSize: b };
}

/** The K (input width) of every quantized projection of `config`, by name. */
export function projectionInputs(config: ModelConfig): Record<string, number> {
  const qDim = config.heads * config.headDim;
  return { wq: config.hiddenSize, wk: config.hiddenSize, wv: config.hiddenSize, wo: qDim, w_gate: config.hiddenSize, w_up: config.hiddenSize, w_down: config.intermediateSize };
}

/** Checks that the block size divides K of every projection of the model (no padded blocks). */
export function checkWeightQuant(config: ModelConfig, quant: WeightQuant): void {
  if (quant.bits !== 4) return;
  const blockSize = quant.blockSize!;
  for (const [name, k] of Object.entries(projectionInputs(config))) {
    if (k % blockSize !== 0) {
      throw new WeightQuantError('weightBlockSize', `${blockSize} does not divide K = ${k} of ${name} (input widths: hidden ${config.hiddenSize}, q ${config.heads * config.headDim}, intermediate ${config.intermediateSize}); pick a power of two from 16 to 256 dividing all of them`);
    }
  }
}

/** The cache-key form of the option. */
export function weightQuantKey(quant: WeightQuant): string {
  return quant.bits === 16 ? 'w16' : `w4b${quant.blockSize}`;
}

/** Quantizes a row-major [n, k] weight (rows = outputs) into MatMulNBits blocks. */
export function quantizeInt4(values: Float32Array, n: number, k: number, blockSize: number): Int4Blocks {
  if (values.length !== n * k) throw new Error(`quantizeInt4: ${values.length} values for [${n}, ${k}]`);
  if (k % blockSize !== 0 || blockSize % 2 !== 0) throw new Error(`quantizeInt4: block size ${blockSize} does not divide K = ${k}`);
  const nBlocks = k / blockSize;
  const blob = blockSize / 2;
  const zpRow = Math.ceil(nBlocks / 2);
  const packed = new Uint8Array(n * nBlocks * blob);
  const scales = new Float32Array(n * nBlocks);
  const zeroPoints = new Uint8Array(n * zpRow);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const start = row * k + b * blockSize;
      // The range includes 0, so the zero point is an exact code and 0 dequantizes to 0.
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < blockSize; i++) {
        const v = values[start + i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? Math.fround((hi - lo) / 15) : 1;
      const zp = Math.min(15, Math.max(0, rne(-lo / scale)));
      const block = row * nBlocks + b;
      scales[block] = scale;
      zeroPoints[row * zpRow + (b >> 1)] |= zp << ((b & 1) * 4);
      for (let i = 0; i < blockSize; i++) {
        const code = Math.min(15, Math.max(0, rne(values[start + i] / scale) + zp));
        packed[block * blob + (i >> 1)] |= code << ((i & 1) * 4);
      }
    }
  }
  return { n, k, blockSize, nBlocks, packed, scales, zeroPoints };
}

/** The weight the graph multiplies by: (code - zero_point) * scale, row-major [n, k], in float32. */
export function dequantizeInt4(q: Int4Blocks): Float32Array {
  const { n, k, blockSize, nBlocks } = q;
  const blob = blockSize / 2;
  const zpRow = Math.ceil(nBlocks / 2);
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < nBlocks; b++) {
      const block = row * nBlocks + b;
      const zp = (q.zeroPoints[row * zpRow + (b >> 1)] >> ((b & 1) * 4)) & 15;
      const scale = q.scales[block];
      for (let i = 0; i < blockSize; i++) {
        const code = (q.packed[block * blob + (i >> 1)] >> ((i & 1) * 4)) & 15;
        out[row * k + b * blockSize + i] = (code - zp) * scale;
      }
    }
  }
  return out;
}
