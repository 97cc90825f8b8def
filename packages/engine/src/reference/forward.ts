// The float64 reference forward pass: llama2.c's run.c transcribed to TypeScript, one token at a time,
// every family feature of ModelConfig included. It is the yardstick for the ONNX graph, so it favours
// being obviously right over being fast. Weights stay float32; every product and sum is float64.
import type { LayerWeights, ModelConfig, ModelWeights } from '../model/config';
import { applyRope, ropeInverseFrequencies } from './rope';

export type CacheKind = 'k' | 'v';

export interface ReferenceOptions {
  /**
   * Transforms one position's new key or value (length kvHeads*headDim, after bias, QK-norm and RoPE for
   * keys) before it is written to the cache, e.g. per-token fake quantization. Return the stored vector.
   */
  storeTransform?: (layer: number, kind: CacheKind, vector: Float64Array, pos: number) => Float64Array;
  /**
   * Returns what attention reads instead of the stored cache: `cache` is [length, kvHeads*headDim]
   * (positions 0..pos). Lets a caller model any cache policy (per-channel groups, residual windows)
   * from the exact stored values. The stored cache is not modified.
   */
  attentionView?: (layer: number, kind: CacheKind, cache: Float64Array, length: number) => Float64Array;
  /** Cache capacity in positions; default config.maxPositions (capped at 4096 to bound memory). */
  maxSequence?: number;
  /** Sees each layer's query (length heads*headDim, after QK-norm and RoPE) before attention; must not keep `q`. */
  onQuery?: (layer: number, q: Float64Array, pos: number) => void;
}

/** y[out] = W[out, in] x[in] (+ bias). */
function matmul(y: Float64Array, x: Float64Array, w: Float32Array, rows: number, cols: number, bias?: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    const offset = r * cols;
    for (let c = 0; c < cols; c++) sum += w[offset + c] * x[c];
    y[r] = bias ? sum + bias[r] : sum;
  }
}

/** RMSNorm of `x[offset .. offset+n)` into `out[offset ..)`: x / sqrt(mean(x^2) + eps) * weight. */
function rmsNorm(out: Float64Array, x: Float64Array, weight: Float32Array, eps: number, offset = 0, n = weight.length): void {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[offset + i] * x[offset + i];
  const scale = 1 / Math.sqrt(ss / n + eps);
  for (let i = 0; i < n; i++) out[offset + i] = x[offset + i] * scale * weight[i];
}

function softmaxInPlace(x: Float64Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    x[i] = Math.exp(x[i] - max);
    sum += x[i];
  }
  for (let i = 0; i < n; i++) x[i] /= sum;
}

const silu = (x: number): number => x / (1 + Math.exp(-x));

export class ReferenceModel {
  readonly config: ModelConfig;
  readonly weights: ModelWeights;
  /** Per layer [maxSequence, kvHeads*headDim]; row p holds position p's key (after RoPE) / value. */
  readonly keyCache: Float64Array[];
  readonly valueCache: Float64Array[];
  readonly maxSequence: number;
  private readonly options: ReferenceOptions;
  private readonly invFreq: Float64Array;

  constructor(config: ModelConfig, weights: ModelWeights, options: ReferenceOptions = {}) {
    this.config = config;
    this.weights = weights;
    this.options = options;
    this.maxSequence = options.maxSequence ?? Math.min(config.maxPositions, 4096);
    const kvDim = config.kvHeads * config.headDim;
    this.keyCache = Array.from({ length: config.layers }, () => new Float64Array(this.maxSequence * kvDim));
    this.valueCache = Array.from({ length: config.layers }, () => new Float64Array(this.maxSequence * kvDim));
    this.invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  /** Forgets the cache (positions restart at 0). */
  reset(): void {
    for (const c of this.keyCache) c.fill(0);
    for (const c of this.valueCache) c.fill(0);
  }

  /** Runs token `token` at position `pos` (positions 0..pos-1 must already be cached); returns logits [vocab]. */
  forward(token: number, pos: number): Float64Array {
    const c = this.config;
    const w = this.weights;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) {
      throw new Error(`token ${token} outside vocabulary [0, ${c.vocabSize})`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos >= this.maxSequence) {
      throw new Error(`position ${pos} outside cache capacity [0, ${this.maxSequence})`);
    }
    const dim = c.hiddenSize;
    const headDim = c.headDim;
    const qDim = c.heads * headDim;
    const kvDim = c.kvHeads * headDim;
    const groupSize = c.heads / c.kvHeads; // query heads sharing one KV head (GQA)

    // x = embedding row of the token
    const x = new Float64Array(dim);
    for (let i = 0; i < dim; i++) x[i] = w.embed[token * dim + i];

    const xb = new Float64Array(dim);
    const q = new Float64Array(qDim);
    const k = new Float64Array(kvDim);
    const v = new Float64Array(kvDim);
    const attnOut = new Float64Array(qDim);
    const hb = new Float64Array(c.intermediateSize);
    const hb2 = new Float64Array(c.intermediateSize);
    const scores = new Float64Array(pos + 1);

    for (let l = 0; l < c.layers; l++) {
      const lw: LayerWeights = w.layers[l];

      // --- attention ---
      rmsNorm(xb, x, lw.attnNorm, c.rmsEps);
      matmul(q, xb, lw.wq, qDim, dim, lw.bq);
      matmul(k, xb, lw.wk, kvDim, dim, lw.bk);
      matmul(v, xb, lw.wv, kvDim, dim, lw.bv);
      if (c.qkNorm) {
        // Qwen3: RMSNorm over each head separately, before RoPE.
        for (let h = 0; h < c.heads; h++) rmsNorm(q, q, lw.qNorm!, c.rmsEps, h * headDim, headDim);
        for (let h = 0; h < c.kvHeads; h++) rmsNorm(k, k, lw.kNorm!, c.rmsEps, h * headDim, headDim);
      }
      applyRope(q, c.heads, pos, this.invFreq, c);
      applyRope(k, c.kvHeads, pos, this.invFreq, c);
      this.options.onQuery?.(l, q, pos);

      const storedK = this.options.storeTransform ? this.options.storeTransform(l, 'k', k, pos) : k;
      const storedV = this.options.storeTransform ? this.options.storeTransform(l, 'v', v, pos) : v;
      this.keyCache[l].set(storedK.subarray(0, kvDim), pos * kvDim);
      this.valueCache[l].set(storedV.subarray(0, kvDim), pos * kvDim);

      const length = pos + 1;
      const keys = this.options.attentionView
        ? this.options.attentionView(l, 'k', this.keyCache[l].subarray(0, length * kvDim), length)
        : this.keyCache[l];
      const values = this.options.attentionView
        ? this.options.attentionView(l, 'v', this.valueCache[l].subarray(0, length * kvDim), length)
        : this.valueCache[l];

      // Mistral sliding window: the last `slidingWindow` positions, the current one included.
      const first = c.slidingWindow === null ? 0 : Math.max(0, pos - c.slidingWindow + 1);
      const scale = 1 / Math.sqrt(headDim);
      for (let h = 0; h < c.heads; h++) {
        const kvHead = Math.floor(h / groupSize);
        const qOff = h * headDim;
        const n = pos + 1 - first;
        for (let t = first; t <= pos; t++) {
          const kOff = t * kvDim + kvHead * headDim;
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += q[qOff + i] * keys[kOff + i];
          scores[t - first] = dot * scale;
        }
        softmaxInPlace(scores, n);
        for (let i = 0; i < headDim; i++) attnOut[qOff + i] = 0;
        for (let t = first; t <= pos; t++) {
          const a = scores[t - first];
          const vOff = t * kvDim + kvHead * headDim;
          for (let i = 0; i < headDim; i++) attnOut[qOff + i] += a * values[vOff + i];
        }
      }
      matmul(xb, attnOut, lw.wo, dim, qDim);
      for (let i = 0; i < dim; i++) x[i] += xb[i]; // residual

      // --- SwiGLU MLP: down(silu(gate x) * up x) ---
      rmsNorm(xb, x, lw.mlpNorm, c.rmsEps);
      matmul(hb, xb, lw.wGate, c.intermediateSize, dim);
      matmul(hb2, xb, lw.wUp, c.intermediateSize, dim);
      for (let i = 0; i < c.intermediateSize; i++) hb[i] = silu(hb[i]) * hb2[i];
      matmul(xb, hb, lw.wDown, dim, c.intermediateSize);
      for (let i = 0; i < dim; i++) x[i] += xb[i]; // residual
    }

    rmsNorm(x, x, w.finalNorm, c.rmsEps);
    const logits = new Float64Array(c.vocabSize);
    matmul(logits, x, w.lmHead, c.vocabSize, dim);
    return logits;
  }
}
