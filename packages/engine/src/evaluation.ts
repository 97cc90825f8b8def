// The engine's public contract: what one evaluation takes and what it returns.
// The CLI (`kvbench eval`), the inference worker and the tests all go through `evaluate()` (see index.ts).
import type { KvQuantConfig } from '@kvbench/quant';
import type { KvRows } from './runtime/create-session';

export type Protocol = 'ppl-decode' | 'gen-exact' | 'mc-decode';
export type DataFormat = 'text' | 'gsm8k' | 'hellaswag' | 'arc' | 'mc-jsonl';
export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
export type PrefillPolicy = 'quantize-all' | 'keep-residual';
export type ResidualMode = 'append' | 'requantize';
/** packed: the cache crosses the graph boundary as packed codes; simulated: fake-quant, fp cache. */
export type CacheMode = 'packed' | 'simulated';

/** Randomized Walsh-Hadamard rotation of each head vector before a grouped quantizer (undone after dequantization). */
export interface RotationOption {
  kind: 'hadamard';
  seed: number;
}

export type TurboSchemeName = 'KV' | 'KQV' | 'QKQV';

/** TurboQuant instead of the grouped quantizers: per kind mse or prod by the scheme, bits = quant.key.bits / quant.value.bits. */
export interface TurboOption {
  scheme: TurboSchemeName;
  seed: number;
}

/** Norm-aware layer-wise allocation (quantizers.md §6.2-6.3), resolved by evaluate() into `layers` before the session opens. */
export interface BudgetOption {
  /** Average nominal bits per tensor (K and V of every layer). */
  bits: number;
  /** Allowed widths, e.g. [1, 1.58, 2, 4, 6, 8]. */
  bitRange: number[];
  score: 'frobenius' | 'spectral';
  /** Norms of W_K / W_V, or of the cached K / V on a sample of the run's data. */
  source: 'weights' | 'cache';
  /** Average group size spread over layers by sensitivity; null: every layer keeps quant's group sizes. */
  groupBudget: number | null;
}

export interface CachePolicy {
  /** null = full precision (b_K = b_V = 16). */
  quant: KvQuantConfig | null;
  residualLength: number; // default 128; 0 = quantize every token at once
  prefill: PrefillPolicy; // default 'quantize-all'
  residualMode: ResidualMode; // default 'append'
  mode: CacheMode; // default 'packed'
  // The options below are absent in plain runs and need quant !== null.
  rotation?: RotationOption | null;
  turbo?: TurboOption | null;
  /** Per-layer quantizers (what a budget resolves to); length = the model's layers. */
  layers?: KvQuantConfig[] | null;
  budget?: BudgetOption | null;
}

/** What a budget's allocator chose (EvalResult.allocation). */
export interface BudgetAllocation {
  budget: number;
  bitRange: number[];
  score: string;
  source: string;
  groupBudget: number | null;
  keyBits: number[];
  valueBits: number[];
  keyGroupSizes: number[];
  valueGroupSizes: number[];
  keySensitivities: number[];
  valueSensitivities: number[];
  /** Mean nominal bits per element over K and V of all layers. */
  nominalBits: number;
  /** As kvbench stores it (dense packing: 1.58 -> 2, 6 -> 6), scale and zero included. */
  storedBitsPerElement: number;
  /** As HQQ would store it (1.58 -> 2, 3 -> 3.2, 5/6 -> 8), scale and zero included. */
  storedBitsPerElementHqq: number;
}

export interface EvalOptions {
  /** A directory (HF), a llama2.c .bin file, or a bundled name such as "stories260k". */
  model: string;
  /** A bundled benchmark name (tinystories, wikitext2, gsm8k, hellaswag, arc-easy) or a path with `format`. */
  data: string;
  format?: DataFormat;
  protocol: Protocol;
  prompt: number; // prefill tokens (ppl-decode), default 64
  maxTokens: number; // per document (ppl-decode) or new tokens (gen-exact)
  limit: number; // documents / items
  fewShot?: number; // gen-exact
  cache: CachePolicy;
  provider: ExecutionProvider; // never silently falls back
  sessionOptions?: Record<string, unknown>;
  seed?: number;
  /** Linear-layer weights: 16 = as loaded (default), 4 = blockwise int4 (MatMulNBits, block 32). */
  weightBits?: 16 | 4;
  /**
   * Arithmetic of both sessions (activations, weights and the full-precision cache): float32 (default) or
   * float16, as models are served on GPUs (within fp16 tolerance of float32: bench/results/gpu-consistency.md).
   */
  dtype?: 'float32' | 'float16';
  /**
   * Rows of the cache's device tensors (OnnxSessionOptions.kvRows): 'exact' (default), 'reserve' (rows
   * ahead of the tokens: decode steps keep one buffer size; fails for sessions that cannot), 'auto'
   * (reserve where the session can, exact elsewhere). Pair 'reserve'/'auto' on WebGPU with the provider's
   * storageBufferCacheMode 'simple' in sessionOptions for the speed (bench/results/gpu-summary.md).
   */
  kvRows?: KvRows;
}

/** Which weight precision ran (linear layers; embeddings, norms and the lm head stay as loaded). */
export interface WeightPrecision {
  bits: 16 | 4;
  /** int4: elements per block along K. */
  blockSize?: number;
}

export interface EvalProgress {
  itemsDone: number;
  itemsTotal: number;
  tokensDone: number;
  tokensPerSecond: number;
  etaSeconds: number | null;
}

export interface EvalMetrics {
  perplexity?: number;
  kl?: number; // mean KL(p_fp || p_q) per scored token, nats
  top1?: number; // top-1 agreement with the full-precision cache
  nllDelta?: number; // mean paired NLL difference (q - fp) per token
  nllDeltaStderr?: number; // standard error over documents
  scoredTokens?: number;
  accuracy?: number;
  accuracyStderr?: number;
  accuracyNorm?: number; // mc-decode, length-normalised
  accuracyNormStderr?: number;
  agreement?: number; // gen-exact: generated text identical to the fp cache's
  perplexityFp?: number; // ppl-decode: the full-precision cache's perplexity on the same tokens
  accuracyFp?: number; // gen-exact / mc-decode: the full-precision cache's accuracy on the same items
}

export interface LayerStat {
  layer: number;
  tensor: 'k' | 'v';
  metric: string; // e.g. "relError", "frobenius"
  value: number;
}

export interface EvalSample {
  index: number;
  prompt: string;
  output?: string;
  reference?: string;
  correct?: boolean;
  nll?: number;
  outputFp?: string; // gen-exact: what the full-precision cache generated
}

export interface EvalResult {
  metrics: EvalMetrics;
  memory: {
    kvBytesPerToken: number; // exact, from the packed buffers
    fp16BytesPerToken: number;
    ratioToFp16: number;
    peakRssBytes: number;
  };
  /** tokensPerSecond: tokens fed (prefill and steps) per second inside the quantized session; decodeStepMs: its median decode step. */
  speed: { tokensPerSecond: number; wallSeconds: number; decodeStepMs?: number };
  provider: ExecutionProvider; // the provider that actually ran
  device: string;
  config: EvalOptions;
  model: { name: string; architecture: string; weightsHash: string };
  benchmark: { name: string; dataHash: string; items: number };
  versions: Record<string, string>;
  layerStats: LayerStat[];
  samples: EvalSample[];
  /** Non-finite inputs met by the quantizer, counted rather than hidden. */
  nonFinite: number;
  /** Protocol parameters and choices (few-shot items, stop strings, answer regex, documents kept...). */
  protocolRecord?: Record<string, unknown>;
  /** Which session implementation ran: the ONNX graph or the float64 reference (cross-checks). */
  engine?: 'onnx' | 'reference';
  /** Which weight precision ran (absent in results from before weightBits existed = 16). */
  weights?: WeightPrecision;
  /** Budget mode: what the allocator chose (also in layerStats as alloc.bits / alloc.groupSize / alloc.sensitivity). */
  allocation?: BudgetAllocation;
}

export interface EvaluateControls {
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
}
