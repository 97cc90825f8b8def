// Per-layer statistics of the cache from one sample of full-precision keys and values: what the run
// page's K/V bar charts show. Computed once, on the CPU, from the decoder's residual outputs of the first
// prefill (at most CAPTURE_TOKENS positions), so they cost one copy and one quantize per layer and kind.
import type * as ort from 'onnxruntime-node';
import type { TensorCodec } from '../codec';
import type { LayerStat } from '../evaluation';
import { halfToFloat } from '../model/dtype';

/** Positions of the first prefill that the statistics are computed on (default). */
export const LAYER_STATS_TOKENS = 256;

/** The first `tokens` positions of a CPU cache tensor [1, H, T, D] as a float32 [1, H, tokens, D]. */
export function leadingTokens(t: ort.Tensor, tokens: number): Float32Array {
  const [, heads, total, headDim] = t.dims;
  if (tokens > total) throw new Error(`leadingTokens: ${tokens} tokens asked of a tensor with ${total}`);
  const data = t.data as Float32Array | Uint16Array;
  const out = new Float32Array(heads * tokens * headDim);
  const row = tokens * headDim;
  for (let h = 0; h < heads; h++) {
    const src = h * total * headDim;
    if (t.type === 'float32') out.set((data as Float32Array).subarray(src, src + row), h * row);
    else if (t.type === 'float16') for (let i = 0; i < row; i++) out[h * row + i] = halfToFloat((data as Uint16Array)[src + i]);
    else throw new Error(`leadingTokens: unsupported cache tensor type ${t.type}`);
  }
  return out;
}

/**
 * Statistics of one cached tensor x = [1, H, T, D] (float32, row-major):
 * - frobenius: ||x||_F;
 * - rmsPerToken: sqrt(mean over tokens of ||x_t||^2), x_t = one token's H*D values (= frobenius / sqrt(T));
 * - meanNorm: mean L2 norm of one token's head vector (D values), as the reference session reports it;
 * - maxAbs: max |x| over finite entries;
 * - relError (codec given): ||x - dequant(quant(x))||_F / ||x||_F on the first multiple of the codec's
 *   quantum of tokens, quantized in one piece as a quantize-all prefill does.
 */
export function tensorStats(
  x: Float32Array,
  dims: readonly [number, number, number, number],
  codec: TensorCodec | null,
): Record<string, number> {
  const [, H, T, D] = dims;
  let squared = 0;
  let vectorNorms = 0;
  let maxAbs = 0;
  for (let v = 0; v < H * T; v++) {
    let norm = 0;
    for (let d = 0; d < D; d++) {
      const value = x[v * D + d];
      if (!Number.isFinite(value)) continue;
      norm += value * value;
      const a = Math.abs(value);
      if (a > maxAbs) maxAbs = a;
    }
    squared += norm;
    vectorNorms += Math.sqrt(norm);
  }
  const stats: Record<string, number> = {
    frobenius: Math.sqrt(squared),
    rmsPerToken: Math.sqrt(squared / T),
    meanNorm: vectorNorms / (H * T),
    maxAbs,
  };
  const tokens = codec ? Math.floor(T / codec.quantum) * codec.quantum : 0;
  if (codec && tokens > 0) {
    const sample = tokens === T ? x : sliceTokens(x, H, T, D, tokens);
    const y = codec.codeBlock(sample, tokens).dequantized;
    let error = 0;
    let norm = 0;
    for (let i = 0; i < sample.length; i++) {
      if (!Number.isFinite(sample[i])) continue;
      const e = y[i] - sample[i];
      error += e * e;
      norm += sample[i] * sample[i];
    }
    if (norm > 0) stats.relError = Math.sqrt(error / norm);
  }
  return stats;
}

function sliceTokens(x: Float32Array, H: number, T: number, D: number, tokens: number): Float32Array {
  const out = new Float32Array(H * tokens * D);
  for (let h = 0; h < H; h++) out.set(x.subarray(h * T * D, (h * T + tokens) * D), h * tokens * D);
  return out;
}

/** LayerStat rows of one layer and tensor, in a fixed metric order. */
export function layerStatRows(layer: number, tensor: 'k' | 'v', stats: Record<string, number>): LayerStat[] {
  return Object.entries(stats).map(([metric, value]) => ({ layer, tensor, metric, value }));
}
