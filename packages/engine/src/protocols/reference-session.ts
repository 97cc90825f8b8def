// A DecoderSession on the float64 reference forward pass, with the cache policy of benchmarks.md run by
// the TS quantizer (KvCacheStream). It is slow but independent of ONNX Runtime: the yardstick the ONNX
// session is checked against, and what evaluate() runs when asked for the reference engine.
import { fp16KvBytesPerToken } from '@kvbench/quant';
import { layerCodecs } from '../codec';
import type { CachePolicy, LayerStat } from '../evaluation';
import type { LoadedModel } from '../model/config';
import { ReferenceModel } from '../reference/forward';
import type { DecoderSession, KvMemory } from '../session';
import { KvCacheStream, type KvStreamSnapshot } from './kv-cache-state';

interface ReferenceSnapshot {
  position: number;
  keys: Float64Array[];
  values: Float64Array[];
  streams: KvStreamSnapshot[] | null;
}

export class ReferenceDecoderSession implements DecoderSession {
  readonly provider = 'cpu' as const;
  readonly vocabSize: number;
  private readonly model: ReferenceModel;
  /** [layer][0 = keys, 1 = values]; null for a full-precision cache. */
  private readonly streams: [KvCacheStream, KvCacheStream][] | null;
  private readonly kvDim: number;
  private position = 0;
  /** Attention inside a prefill is exact (benchmarks.md cache policy 1). */
  private prefilling = false;

  constructor(
    loaded: LoadedModel,
    readonly policy: CachePolicy,
    options: { maxSequence?: number } = {},
  ) {
    const c = loaded.config;
    this.vocabSize = c.vocabSize;
    this.kvDim = c.kvHeads * c.headDim;
    const maxSequence = options.maxSequence ?? Math.min(c.maxPositions, 4096);
    const codecs = layerCodecs(policy, c);
    this.streams = codecs
      ? codecs.map((layer) => [
          new KvCacheStream(layer.key, policy, c.kvHeads, c.headDim, maxSequence, 'key'),
          new KvCacheStream(layer.value, policy, c.kvHeads, c.headDim, maxSequence, 'value'),
        ])
      : null;
    this.model = new ReferenceModel(c, loaded.weights, {
      maxSequence,
      attentionView: this.streams
        ? (layer, kind, cache, length) =>
            this.prefilling ? cache : this.streams![layer][kind === 'k' ? 0 : 1].read(cache, length)
        : undefined,
    });
  }

  reset(): void {
    this.position = 0;
    if (this.streams) for (const pair of this.streams) for (const s of pair) s.reset();
  }

  async prefill(tokens: number[]): Promise<Float32Array> {
    if (tokens.length === 0) throw new Error('prefill: needs at least one token');
    this.reset();
    let logits!: Float64Array;
    this.prefilling = true;
    try {
      for (const token of tokens) logits = this.forward(token);
    } finally {
      this.prefilling = false;
    }
    this.eachStream((stream, exact) => stream.afterPrefill(exact, this.position));
    return Float32Array.from(logits);
  }

  async step(token: number): Promise<Float32Array> {
    if (this.position === 0) throw new Error('step: prefill first');
    const logits = this.forward(token);
    this.eachStream((stream, exact) => stream.afterStep(exact, this.position));
    return Float32Array.from(logits);
  }

  private forward(token: number): Float64Array {
    if (this.position >= this.model.maxSequence) {
      throw new Error(`position ${this.position} exceeds the model's context of ${this.model.maxSequence} tokens`);
    }
    return this.model.forward(token, this.position++);
  }

  private eachStream(f: (stream: KvCacheStream, exact: Float64Array) => void): void {
    if (!this.streams) return;
    this.streams.forEach(([k, v], layer) => {
      f(k, this.model.keyCache[layer]);
      f(v, this.model.valueCache[layer]);
    });
  }

  snapshot(): ReferenceSnapshot {
    const rows = this.position * this.kvDim;
    return {
      position: this.position,
      keys: this.model.keyCache.map((c) => c.slice(0, rows)),
      values: this.model.valueCache.map((c) => c.slice(0, rows)),
      streams: this.streams ? this.streams.flatMap(([k, v]) => [k.snapshot(), v.snapshot()]) : null,
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as ReferenceSnapshot;
    this.position = s.position;
    s.keys.forEach((rows, l) => this.model.keyCache[l].set(rows));
    s.values.forEach((rows, l) => this.model.valueCache[l].set(rows));
    if (this.streams && s.streams) this.streams.forEach(([k, v], l) => (k.restore(s.streams![2 * l]), v.restore(s.streams![2 * l + 1])));
  }

  memory(): KvMemory {
    const c = this.model.config;
    const fp16BytesPerToken = fp16KvBytesPerToken({ layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim });
    const residualBytesPerToken = this.kvDim * 4; // fp32 rows, as the ONNX graph's residual
    if (!this.streams) {
      return { heldBytes: 2 * c.layers * this.position * residualBytesPerToken, tokens: this.position, quantizedBytesPerToken: 0, fp16BytesPerToken };
    }
    let held = 0;
    let perToken = 0;
    let complete = true;
    for (const pair of this.streams)
      for (const s of pair) {
        const q = s.quantizedBytes();
        held += q + (this.position - s.quantizedTokens) * residualBytesPerToken;
        if (s.quantizedTokens > 0) perToken += q / s.quantizedTokens;
        else complete = false;
      }
    return { heldBytes: held, tokens: this.position, quantizedBytesPerToken: complete ? perToken : 0, fp16BytesPerToken };
  }

  /** Per layer, keys and values: quantization error and mean vector norm of what was quantized so far. */
  layerStats(): LayerStat[] {
    const stats: LayerStat[] = [];
    this.streams?.forEach((pair, layer) =>
      pair.forEach((stream, i) => {
        const s = stream.quantizationStats();
        if (!s) return;
        const tensor = i === 0 ? 'k' : 'v';
        stats.push({ layer, tensor, metric: 'relError', value: s.relError }, { layer, tensor, metric: 'meanNorm', value: s.meanNorm });
      }),
    );
    return stats;
  }

  layerStatsSource(): string {
    return this.streams ? 'reference: relError and meanNorm over every row quantized during the run' : 'reference: none for a full-precision cache';
  }

  nonFinite(): number {
    let n = 0;
    if (this.streams) for (const pair of this.streams) for (const s of pair) n += s.nonFinite();
    return n;
  }

  async dispose(): Promise<void> {}
}
