// The contract between the ONNX runtime side (src/runtime, src/graph) and the benchmark protocols
// (src/protocols): one sequence's decoder with its KV cache held between calls.
import type { CachePolicy, ExecutionProvider, LayerStat, WeightPrecision } from './evaluation';

export interface KvMemory {
  /** Bytes of codes + scales + zeros + residual actually held now, summed over layers, K and V. */
  heldBytes: number;
  /** Optional: bytes the cache's tensors occupy, rows reserved for tokens to come included (>= heldBytes). */
  reservedBytes?: number;
  /** Tokens in the cache now. */
  tokens: number;
  /** heldBytes / tokens for the quantized part only (exact, from the buffers); 0 when nothing is quantized yet. */
  quantizedBytesPerToken: number;
  /** 2 * layers * kvHeads * headDim * 2: what an fp16 cache costs per token. */
  fp16BytesPerToken: number;
}

export interface DecoderSession {
  readonly provider: ExecutionProvider;
  readonly policy: CachePolicy;
  readonly vocabSize: number;
  /** Optional: the linear layers' weight precision; absent = as loaded (16). */
  readonly weights?: WeightPrecision;
  /** Optional: how the ONNX graph computes attention ('fused' GroupQueryAttention on GPUs, else 'plain'). */
  readonly attention?: 'plain' | 'fused';
  /** Optional: the cache's rows as resolved (OnnxSessionOptions.kvRows; 'auto' becomes one of these). */
  readonly kvRows?: 'exact' | 'reserve';
  /** Forget the current sequence. */
  reset(): void;
  /** Reads `tokens` in one exact forward pass, stores them in the cache per `policy.prefill`; returns the last position's logits. */
  prefill(tokens: number[]): Promise<Float32Array>;
  /** Feeds one token through the (quantized) cache; returns its logits. */
  step(token: number): Promise<Float32Array>;
  /** Saves / restores the cache state (mc-decode scores every choice from the same context). */
  snapshot(): unknown;
  restore(snapshot: unknown): void;
  memory(): KvMemory;
  /** Non-finite values met by the quantizer so far. */
  nonFinite(): number;
  /** Optional: per-layer statistics of the cache (EvalResult.layerStats); [] when none were taken. */
  layerStats?(): LayerStat[];
  /** Optional: where layerStats() come from, or why there are none (recorded in protocolRecord). */
  layerStatsSource?(): string;
  /** Optional: take the statistics afresh from the next prefill (a reused session starting a new evaluation). */
  restartLayerStats?(): void;
  dispose(): Promise<void>;
}
