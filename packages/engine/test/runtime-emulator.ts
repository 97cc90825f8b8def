// The cache policy applied to the float64 reference with the TypeScript quantizer: the oracle for the
// quantized ONNX session. It follows the same schedule (runtime/cache-schedule.ts) and quantizes the
// same blocks ([1, kvHeads, n, headDim], positions in order), so attention reads what the session's
// history holds: dequant(history) ++ exact residual ++ new token.
import { fakeQuantize, type QuantizerConfig } from '@kvbench/quant';
import type { CachePolicy } from '../src/evaluation';
import type { ModelConfig, ModelWeights } from '../src/model';
import { ReferenceModel, type CacheKind } from '../src/reference';
import { prefillQuantizedTokens, stepFlushTokens, tokenQuantum } from '../src/runtime';

interface KindState {
  historyTokens: number;
  /** Dequantized history, position-major [historyTokens, kvHeads*headDim]. */
  history: Float64Array;
}

export class QuantizedReference {
  readonly model: ReferenceModel;
  private readonly state: Record<CacheKind, KindState>[];
  private readonly quantizers: Record<CacheKind, QuantizerConfig>;
  private readonly quantum: Record<CacheKind, number>;
  private position = 0;

  constructor(
    private readonly config: ModelConfig,
    weights: ModelWeights,
    private readonly policy: CachePolicy,
    maxSequence = 128,
  ) {
    const quant = policy.quant!;
    this.quantizers = { k: quant.key, v: quant.value };
    this.quantum = { k: tokenQuantum(quant.key, config.kvHeads, config.headDim), v: tokenQuantum(quant.value, config.kvHeads, config.headDim) };
    const kvDim = config.kvHeads * config.headDim;
    this.state = Array.from({ length: config.layers }, () => ({
      k: { historyTokens: 0, history: new Float64Array(maxSequence * kvDim) },
      v: { historyTokens: 0, history: new Float64Array(maxSequence * kvDim) },
    }));
    this.model = new ReferenceModel(config, weights, {
      maxSequence,
      attentionView: (layer, kind, cache, length) => {
        const s = this.state[layer][kind];
        const view = Float64Array.from(cache.subarray(0, length * kvDim));
        view.set(s.history.subarray(0, s.historyTokens * kvDim));
        return view;
      },
    });
  }

  prefill(tokens: number[]): Float64Array {
    let logits!: Float64Array;
    tokens.forEach((t, p) => (logits = this.model.forward(t, p)));
    this.position = tokens.length;
    this.flush((kind, residual) => prefillQuantizedTokens(residual, this.policy, this.quantum[kind]));
    return logits;
  }

  step(token: number): Float64Array {
    const logits = this.model.forward(token, this.position++);
    this.flush((kind, residual) => stepFlushTokens(residual, this.policy, this.quantum[kind]));
    return logits;
  }

  /** Tokens held quantized per layer and kind. */
  historyTokens(layer: number, kind: CacheKind): number {
    return this.state[layer][kind].historyTokens;
  }

  private flush(count: (kind: CacheKind, residual: number) => number): void {
    const { kvHeads: H, headDim: D } = this.config;
    const kvDim = H * D;
    this.state.forEach((layer, l) => {
      for (const kind of ['k', 'v'] as const) {
        const s = layer[kind];
        const n = count(kind, this.position - s.historyTokens);
        if (n <= 0) continue;
        const cache = kind === 'k' ? this.model.keyCache[l] : this.model.valueCache[l];
        const requantize = this.policy.residualMode === 'requantize';
        const first = requantize ? 0 : s.historyTokens; // positions [first, first + len) are quantized together
        const len = s.historyTokens + n - first;
        // position-major rows -> [1, H, len, D] (float32, as the graph holds it)
        const block = new Float32Array(len * kvDim);
        for (let t = 0; t < len; t++) {
          const pos = first + t;
          const src = pos < s.historyTokens ? s.history : cache;
          for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) block[(h * len + t) * D + d] = src[pos * kvDim + h * D + d];
        }
        const dequant = fakeQuantize(block, [1, H, len, D], this.quantizers[kind]);
        for (let t = 0; t < len; t++) {
          for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) s.history[(first + t) * kvDim + h * D + d] = dequant[(h * len + t) * D + d];
        }
        s.historyTokens += n;
      }
    });
  }
}
