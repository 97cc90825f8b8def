// The normalized decoder-LM description every loader produces and every consumer (graph builder,
// float64 reference, memory planner, analysis) reads. One shape for llama2.c, Llama 2/3, Qwen2/3, Mistral.

/**
 * How RoPE pairs the channels of one head.
 * - 'interleaved': pairs (2i, 2i+1), as llama2.c / Meta's original Llama code.
 * - 'half': pairs (i, i + headDim/2), as HF transformers' rotate_half.
 * Both use frequency theta^(-2i/headDim) for pair i.
 */
export type RopePairing = 'interleaved' | 'half';

/** Llama 3.1+ frequency-dependent RoPE scaling (HF rope_scaling.rope_type = 'llama3'). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export type RopeScaling = Llama3RopeScaling;

export type Architecture =
  | 'llama2c'
  | 'LlamaForCausalLM'
  | 'MistralForCausalLM'
  | 'Qwen2ForCausalLM'
  | 'Qwen3ForCausalLM';

export interface ModelConfig {
  architecture: Architecture;
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  /** Per-head size; not always hiddenSize / heads (Qwen3, Llama-3.2-3B declare it). */
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  ropePairing: RopePairing;
  rmsEps: number;
  /** Qwen3: RMSNorm over each head of q and k (weights [headDim]) before RoPE. */
  qkNorm: boolean;
  /** Qwen2: bias on the q, k, v projections (not on o). */
  attentionBias: boolean;
  /** The output projection is the token embedding (weights.lmHead === weights.embed). */
  tiedEmbeddings: boolean;
  /** Mistral-style sliding-window attention: attend to the last N positions only; null = full. */
  slidingWindow: number | null;
  bosId: number | null;
  /** Primary end-of-sequence id (first of eosIds), null when the model declares none. */
  eosId: number | null;
  eosIds: number[];
}

/**
 * One decoder layer's weights, float32. Matrices are row-major [out, in] (PyTorch Linear layout), so
 * y[o] = sum_i W[o * in + i] * x[i]. Shapes with q = heads*headDim, kv = kvHeads*headDim:
 * wq [q, hidden], wk/wv [kv, hidden], wo [hidden, q], wGate/wUp [intermediate, hidden],
 * wDown [hidden, intermediate], bq [q], bk/bv [kv], qNorm/kNorm [headDim], attnNorm/mlpNorm [hidden].
 */
export interface LayerWeights {
  attnNorm: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  mlpNorm: Float32Array;
  wGate: Float32Array;
  wUp: Float32Array;
  wDown: Float32Array;
}

/** embed [vocab, hidden]; finalNorm [hidden]; lmHead [vocab, hidden] (the same array as embed when tied). */
export interface ModelWeights {
  embed: Float32Array;
  layers: LayerWeights[];
  finalNorm: Float32Array;
  lmHead: Float32Array;
}

/** Where a loaded model came from, for the result record. */
export interface ModelProvenance {
  /** What the caller asked for ("stories260k", a path). */
  spec: string;
  format: 'llama2c' | 'huggingface';
  /** Resolved absolute path of the checkpoint file or directory. */
  path: string;
  /** sha256 over the weight files (see weightsHash in hash.ts). */
  weightsSha256: string;
  /** Weight files hashed, relative to `path` (or the file name), in hashing order. */
  files: string[];
  /** dtype the weights were stored in before conversion to float32. */
  storedDtype: 'F32' | 'F16' | 'BF16' | 'mixed';
}

export interface LoadedModel {
  config: ModelConfig;
  weights: ModelWeights;
  provenance: ModelProvenance;
}

/** Number of elements each weight tensor must have under `config`; used by loaders and tests. */
export function layerWeightSizes(config: ModelConfig): Record<keyof LayerWeights, number> {
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const h = config.hiddenSize;
  const m = config.intermediateSize;
  return {
    attnNorm: h,
    wq: q * h,
    wk: kv * h,
    wv: kv * h,
    wo: h * q,
    bq: q,
    bk: kv,
    bv: kv,
    qNorm: config.headDim,
    kNorm: config.headDim,
    mlpNorm: h,
    wGate: m * h,
    wUp: m * h,
    wDown: h * m,
  };
}

/** Throws (naming the field) when a config is internally inconsistent. */
export function validateModelConfig(config: ModelConfig, source: string): void {
  const positive: (keyof ModelConfig)[] = [
    'layers', 'hiddenSize', 'intermediateSize', 'heads', 'kvHeads', 'headDim', 'vocabSize', 'maxPositions',
  ];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new Error(`${source}: ${String(key)} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  if (config.heads % config.kvHeads !== 0) {
    throw new Error(`${source}: heads (${config.heads}) must be a multiple of kvHeads (${config.kvHeads})`);
  }
  if (config.headDim % 2 !== 0) throw new Error(`${source}: headDim (${config.headDim}) must be even for RoPE`);
  if (!(config.ropeTheta > 0)) throw new Error(`${source}: ropeTheta must be > 0, got ${config.ropeTheta}`);
  if (!(config.rmsEps > 0)) throw new Error(`${source}: rmsEps must be > 0, got ${config.rmsEps}`);
  for (const id of [config.bosId, ...config.eosIds]) {
    if (id !== null && (!Number.isInteger(id) || id < 0)) {
      throw new Error(`${source}: special token id ${id} is not a non-negative integer`);
    }
  }
}
