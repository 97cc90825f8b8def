// The cache policy of benchmarks.md for one (layer, keys|values) stream, on the TS quantizer: a quantized
// history Q (packed blocks), a full-precision residual R, and the values attention reads
// (dequant(Q) ++ R). Used by the reference DecoderSession; the ONNX graph implements the same machine.
import { validateLayout, type QuantizerConfig } from '@kvbench/quant';
import { GroupedCodec, type TensorCodec } from '../codec';
import type { CachePolicy } from '../evaluation';

/**
 * Smallest number of tokens a layout can quantize at once on [1, kvHeads, tokens, headDim]: 1 for
 * per-token groups within a head vector, G for per-channel (KIVI) blocks, ... Tokens that do not fill
 * a whole unit stay in the residual until they do (benchmarks.md, cache policy 3).
 */
export function tokenUnit(config: QuantizerConfig, kvHeads: number, headDim: number, prefix = ''): number {
  // Per-token groups longer than a head vector span G/D tokens of one head; quantizing fewer tokens at
  // once would make them straddle heads instead.
  if (config.axis === 'per-token' && config.groupSize > headDim && config.groupSize % headDim === 0) return config.groupSize / headDim;
  let last: unknown;
  for (let tokens = 1; tokens <= config.groupSize; tokens++) {
    try {
      validateLayout([1, kvHeads, tokens, headDim], config.axis, config.groupSize, prefix);
      return tokens;
    } catch (error) {
      last = error; // not a whole number of groups yet
    }
  }
  // No token count fits (e.g. per-token G neither divides nor is a multiple of headDim): the layout's own message.
  throw last;
}

/** A stored block: what it occupies once packed. */
interface StoredBlock {
  bytes: number;
}

export interface KvStreamSnapshot {
  quantizedTokens: number;
  blocks: StoredBlock[];
  dequantized: Float64Array;
}

export class KvCacheStream {
  /** [maxSequence, kvHeads*headDim]: rows < quantizedTokens hold dequant(Q); later rows are filled on read. */
  private readonly view: Float64Array;
  private readonly kvDim: number;
  private readonly unit: number;
  /** Quantized blocks (append mode: one per flush; requantize: one). Immutable once made. */
  private blocks: StoredBlock[] = [];
  quantizedTokens = 0;
  /** Non-finite inputs met by the quantizer over the stream's life (not undone by reset or restore). */
  private nonFiniteSeen = 0;
  /** Over the stream's life: squared error and squared norm of newly quantized rows, and their head-vector norms. */
  private readonly errorStats = { squaredError: 0, squaredNorm: 0, vectorNorms: 0, vectors: 0 };

  constructor(
    readonly codec: TensorCodec,
    readonly policy: CachePolicy,
    private readonly kvHeads: number,
    private readonly headDim: number,
    maxSequence: number,
    private readonly prefix: 'key' | 'value',
  ) {
    this.kvDim = kvHeads * headDim;
    this.view = new Float64Array(maxSequence * this.kvDim);
    // Grouped layouts: the fewest tokens the TS quantizer accepts (its message names the group size otherwise).
    this.unit = codec instanceof GroupedCodec && !codec.rotated ? tokenUnit(codec.quantizer, kvHeads, headDim, prefix) : codec.quantum;
  }

  reset(): void {
    this.blocks = [];
    this.quantizedTokens = 0;
  }

  /** What attention reads for positions 0..length-1: dequant(Q) then the exact residual rows of `exact`. */
  read(exact: Float64Array, length: number): Float64Array {
    const from = this.quantizedTokens * this.kvDim;
    this.view.set(exact.subarray(from, length * this.kvDim), from);
    return this.view;
  }

  /** After a prefill of `tokens` positions (attention inside it was exact): store per policy.prefill. */
  afterPrefill(exact: Float64Array, tokens: number): void {
    const keep = this.policy.prefill === 'keep-residual' ? Math.min(tokens, this.policy.residualLength) : 0;
    this.quantizeUpTo(exact, tokens - keep);
  }

  /** After a decode step that brought the cache to `tokens` positions: flush a full residual. */
  afterStep(exact: Float64Array, tokens: number): void {
    if (tokens - this.quantizedTokens >= this.policy.residualLength) this.quantizeUpTo(exact, tokens);
  }

  /** Moves the residual into Q up to position `end`, rounded down to whole layout units. */
  private quantizeUpTo(exact: Float64Array, end: number): void {
    const start = this.quantizedTokens;
    const count = Math.floor((end - start) / this.unit) * this.unit;
    if (count <= 0) return;
    if (this.policy.residualMode === 'requantize' && start > 0) {
      // transformers' behaviour: dequant(Q) ++ R re-quantized as one tensor.
      this.view.set(exact.subarray(start * this.kvDim, (start + count) * this.kvDim), start * this.kvDim);
      const total = Math.floor((start + count) / this.unit) * this.unit;
      this.blocks = [this.quantizeRows(this.view, 0, total)];
      this.measure(exact, start, total);
      this.quantizedTokens = total;
    } else {
      this.blocks.push(this.quantizeRows(exact, start, count));
      this.measure(exact, start, start + count);
      this.quantizedTokens = start + count;
    }
  }

  /** Quantizes rows [start, start+count) of `source` ([seq, kvHeads, headDim]) and writes dequant back into the view. */
  private quantizeRows(source: Float64Array, start: number, count: number): StoredBlock {
    const H = this.kvHeads;
    const D = this.headDim;
    // [seq, H, D] rows -> the [1, H, seq, D] tensor the quantizer's layouts are defined on.
    const x = new Float32Array(H * count * D);
    for (let s = 0; s < count; s++)
      for (let h = 0; h < H; h++) {
        const src = (start + s) * this.kvDim + h * D;
        const dst = (h * count + s) * D;
        for (let d = 0; d < D; d++) x[dst + d] = source[src + d];
      }
    const coded = this.codec.codeBlock(x, count);
    this.nonFiniteSeen += coded.nonFinite;
    const y = coded.dequantized;
    for (let s = 0; s < count; s++)
      for (let h = 0; h < H; h++) {
        const dst = (start + s) * this.kvDim + h * D;
        const src = (h * count + s) * D;
        for (let d = 0; d < D; d++) this.view[dst + d] = y[src + d];
      }
    return { bytes: coded.bytes };
  }

  /** Accumulates the error of rows [from, to) as attention now reads them against their exact values. */
  private measure(exact: Float64Array, from: number, to: number): void {
    const D = this.headDim;
    for (let v = from * this.kvHeads; v < to * this.kvHeads; v++) {
      let norm = 0;
      for (let d = 0; d < D; d++) {
        const x = exact[v * D + d];
        const e = this.view[v * D + d] - x;
        norm += x * x;
        this.errorStats.squaredError += e * e;
      }
      this.errorStats.squaredNorm += norm;
      this.errorStats.vectorNorms += Math.sqrt(norm);
      this.errorStats.vectors++;
    }
  }

  /**
   * relError = ||X^ - X||_F / ||X||_F over every row when it was quantized (requantize mode: new rows
   * only), meanNorm = mean L2 norm of one token's head vector. Null before anything was quantized.
   */
  quantizationStats(): { relError: number; meanNorm: number } | null {
    const s = this.errorStats;
    if (s.vectors === 0) return null;
    return { relError: Math.sqrt(s.squaredError / s.squaredNorm), meanNorm: s.vectorNorms / s.vectors };
  }

  /** Bytes of Q (codes + scales + zeros + non-finite side list), from the buffers. */
  quantizedBytes(): number {
    let bytes = 0;
    for (const b of this.blocks) bytes += b.bytes;
    return bytes;
  }

  nonFinite(): number {
    return this.nonFiniteSeen;
  }

  snapshot(): KvStreamSnapshot {
    return {
      quantizedTokens: this.quantizedTokens,
      blocks: [...this.blocks],
      dequantized: this.view.slice(0, this.quantizedTokens * this.kvDim),
    };
  }

  restore(s: KvStreamSnapshot): void {
    this.quantizedTokens = s.quantizedTokens;
    this.blocks = [...s.blocks];
    this.view.set(s.dequantized, 0);
  }
}
