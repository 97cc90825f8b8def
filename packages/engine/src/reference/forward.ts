// The float64 reference forward pass: llama2.c's run.c transcribed to TypeScript, one token at a time (or a
// block of tokens layer by layer, with the same sums in the same order), every family feature of ModelConfig
// included. It is the yardstick for the ONNX graph, so it favours being obviously right over being fast.
// Weights stay float32; every product and sum is float64.
import type { LayerWeights, ModelConfig, ModelWeights } from '../model/config';
import { matmul, type Matmul } from './matmul';
import type { MatmulThreads } from './matmul-threads';
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
  /** Splits each product's rows over these threads (same numbers, bit for bit); default this thread only. */
  threads?: MatmulThreads;
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
  private readonly matmul: Matmul;

  constructor(config: ModelConfig, weights: ModelWeights, options: ReferenceOptions = {}) {
    this.config = config;
    this.weights = weights;
    this.options = options;
    this.maxSequence = options.maxSequence ?? Math.min(config.maxPositions, 4096);
    const kvDim = config.kvHeads * config.headDim;
    this.keyCache = Array.from({ length: config.layers }, () => new Float64Array(this.maxSequence * kvDim));
    this.valueCache = Array.from({ length: config.layers }, () => new Float64Array(this.maxSequence * kvDim));
    this.invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
    this.matmul = options.threads ? options.threads.bind(weights) : matmul;
  }

  /** Forgets the cache (positions restart at 0). */
  reset(): void {
    for (const c of this.keyCache) c.fill(0);
    for (const c of this.valueCache) c.fill(0);
  }

  /** Runs token `token` at position `pos` (positions 0..pos-1 must already be cached); returns logits [vocab]. */
  forward(token: number, pos: number): Float64Array {
    return this.forwardBlock([token], pos)!;
  }

  /**
   * Runs `tokens` at positions pos, pos+1, ... (positions 0..pos-1 must already be cached), layer by layer
   * for the whole block: the same numbers as forward() token by token, with every weight read once per
   * block. Returns the last token's logits, or null with `logits: false` (cache samples need none).
   */
  forwardBlock(tokens: readonly number[], pos: number, options: { logits?: boolean } = {}): Float64Array | null {
    const c = this.config;
    const w = this.weights;
    const n = tokens.length;
    if (n === 0) throw new Error('forwardBlock: no tokens');
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) {
        throw new Error(`token ${token} outside vocabulary [0, ${c.vocabSize})`);
      }
    }
    if (!Number.isInteger(pos) || pos < 0 || pos + n > this.maxSequence) {
      throw new Error(`position ${Number.isInteger(pos) && pos >= 0 ? pos + n - 1 : pos} outside cache capacity [0, ${this.maxSequence})`);
    }
    const dim = c.hiddenSize;
    const headDim = c.headDim;
    const qDim = c.heads * headDim;
    const kvDim = c.kvHeads * headDim;
    const hidden = c.intermediateSize;
    const groupSize = c.heads / c.kvHeads; // query heads sharing one KV head (GQA)
    const row = (a: Float64Array, width: number, t: number) => a.subarray(t * width, (t + 1) * width);
    const matmul = this.matmul;

    // x[t] = embedding row of token t
    const x = new Float64Array(n * dim);
    for (let t = 0; t < n; t++) for (let i = 0; i < dim; i++) x[t * dim + i] = w.embed[tokens[t] * dim + i];

    const xb = new Float64Array(n * dim);
    const q = new Float64Array(n * qDim);
    const k = new Float64Array(n * kvDim);
    const v = new Float64Array(n * kvDim);
    const attnOut = new Float64Array(n * qDim);
    const hb = new Float64Array(n * hidden);
    const hb2 = new Float64Array(n * hidden);
    const scores = new Float64Array(pos + n);

    for (let l = 0; l < c.layers; l++) {
      const lw: LayerWeights = w.layers[l];

      // --- attention ---
      for (let t = 0; t < n; t++) rmsNorm(row(xb, dim, t), row(x, dim, t), lw.attnNorm, c.rmsEps);
      matmul(q, xb, lw.wq, qDim, dim, lw.bq, n);
      matmul(k, xb, lw.wk, kvDim, dim, lw.bk, n);
      matmul(v, xb, lw.wv, kvDim, dim, lw.bv, n);
      for (let t = 0; t < n; t++) {
        const [qt, kt, vt] = [row(q, qDim, t), row(k, kvDim, t), row(v, kvDim, t)];
        if (c.qkNorm) {
          // Qwen3: RMSNorm over each head separately, before RoPE.
          for (let h = 0; h < c.heads; h++) rmsNorm(qt, qt, lw.qNorm!, c.rmsEps, h * headDim, headDim);
          for (let h = 0; h < c.kvHeads; h++) rmsNorm(kt, kt, lw.kNorm!, c.rmsEps, h * headDim, headDim);
        }
        applyRope(qt, c.heads, pos + t, this.invFreq, c);
        applyRope(kt, c.kvHeads, pos + t, this.invFreq, c);
        this.options.onQuery?.(l, qt, pos + t);
        const storedK = this.options.storeTransform ? this.options.storeTransform(l, 'k', kt, pos + t) : kt;
        const storedV = this.options.storeTransform ? this.options.storeTransform(l, 'v', vt, pos + t) : vt;
        this.keyCache[l].set(storedK.subarray(0, kvDim), (pos + t) * kvDim);
        this.valueCache[l].set(storedV.subarray(0, kvDim), (pos + t) * kvDim);
      }

      // Token t attends to positions up to its own (those of later tokens are cached but not read).
      for (let t = 0; t < n; t++) {
        const at = pos + t;
        const length = at + 1;
        const keys = this.options.attentionView
          ? this.options.attentionView(l, 'k', this.keyCache[l].subarray(0, length * kvDim), length)
          : this.keyCache[l];
        const values = this.options.attentionView
          ? this.options.attentionView(l, 'v', this.valueCache[l].subarray(0, length * kvDim), length)
          : this.valueCache[l];

        // Mistral sliding window: the last `slidingWindow` positions, the current one included.
        const first = c.slidingWindow === null ? 0 : Math.max(0, at - c.slidingWindow + 1);
        const scale = 1 / Math.sqrt(headDim);
        const qRow = t * qDim;
        for (let h = 0; h < c.heads; h++) {
          const kvHead = Math.floor(h / groupSize);
          const qOff = qRow + h * headDim;
          const span = at + 1 - first;
          for (let s = first; s <= at; s++) {
            const kOff = s * kvDim + kvHead * headDim;
            let dot = 0;
            for (let i = 0; i < headDim; i++) dot += q[qOff + i] * keys[kOff + i];
            scores[s - first] = dot * scale;
          }
          softmaxInPlace(scores, span);
          for (let i = 0; i < headDim; i++) attnOut[qOff + i] = 0;
          for (let s = first; s <= at; s++) {
            const a = scores[s - first];
            const vOff = s * kvDim + kvHead * headDim;
            for (let i = 0; i < headDim; i++) attnOut[qOff + i] += a * values[vOff + i];
          }
        }
      }
      matmul(xb, attnOut, lw.wo, dim, qDim, undefined, n);
      for (let i = 0; i < n * dim; i++) x[i] += xb[i]; // residual

      // --- SwiGLU MLP: down(silu(gate x) * up x) ---
      for (let t = 0; t < n; t++) rmsNorm(row(xb, dim, t), row(x, dim, t), lw.mlpNorm, c.rmsEps);
      matmul(hb, xb, lw.wGate, hidden, dim, undefined, n);
      matmul(hb2, xb, lw.wUp, hidden, dim, undefined, n);
      for (let i = 0; i < n * hidden; i++) hb[i] = silu(hb[i]) * hb2[i];
      matmul(xb, hb, lw.wDown, dim, hidden, undefined, n);
      for (let i = 0; i < n * dim; i++) x[i] += xb[i]; // residual
    }

    if (options.logits === false) return null;
    const last = row(x, dim, n - 1);
    rmsNorm(last, last, w.finalNorm, c.rmsEps);
    const logits = new Float64Array(c.vocabSize);
    matmul(logits, last, w.lmHead, c.vocabSize, dim);
    return logits;
  }
}
