// Hugging Face config.json -> ModelConfig, for the decoder families kvbench supports. Anything the
// engine cannot run faithfully (other activations, other RoPE scalings, biases we do not model) is
// rejected here with the field named, rather than silently run wrong.
import type { Architecture, ModelConfig, RopeScaling } from './config';
import { validateModelConfig } from './config';

/** The subset of config.json fields kvbench reads (others are kept but ignored). */
export interface HfConfigJson {
  architectures?: string[];
  model_type?: string;
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number | null;
  vocab_size?: number;
  max_position_embeddings?: number;
  rope_theta?: number;
  rope_scaling?: Record<string, unknown> | null;
  rms_norm_eps?: number;
  hidden_act?: string;
  attention_bias?: boolean;
  mlp_bias?: boolean;
  tie_word_embeddings?: boolean;
  sliding_window?: number | null;
  use_sliding_window?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  torch_dtype?: string;
  [key: string]: unknown;
}

export const SUPPORTED_ARCHITECTURES = [
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM',
] as const satisfies readonly Architecture[];

function requireInt(json: HfConfigJson, key: keyof HfConfigJson, file: string): number {
  const value = json[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`${file}: ${String(key)} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseRopeScaling(raw: HfConfigJson['rope_scaling'], file: string): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  const type = raw.rope_type ?? raw.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    throw new Error(`${file}: rope_scaling type ${JSON.stringify(type)} is not supported (supported: llama3)`);
  }
  const num = (key: string): number => {
    const value = raw[key];
    if (typeof value !== 'number' || !(value > 0)) {
      throw new Error(`${file}: rope_scaling.${key} must be a positive number, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  return {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    originalMaxPositions: num('original_max_position_embeddings'),
  };
}

/** `file` names the config in errors (a path, or e.g. "preset Qwen3-8B"). */
export function normalizeHfConfig(json: HfConfigJson, file: string): ModelConfig {
  const architecture = json.architectures?.[0];
  if (!architecture || !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new Error(
      `${file}: unknown architecture ${JSON.stringify(architecture ?? null)} (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  const arch = architecture as (typeof SUPPORTED_ARCHITECTURES)[number];
  if ((json.hidden_act ?? 'silu') !== 'silu') {
    throw new Error(`${file}: hidden_act ${JSON.stringify(json.hidden_act)} is not supported (only silu / SwiGLU)`);
  }
  if (json.mlp_bias) throw new Error(`${file}: mlp_bias = true is not supported`);
  // Llama and Qwen3 put attention_bias on q, k, v *and* o; Qwen2 has q, k, v bias only (always).
  if (arch !== 'Qwen2ForCausalLM' && json.attention_bias) {
    throw new Error(`${file}: attention_bias = true is not supported for ${arch}`);
  }
  if (arch === 'Qwen2ForCausalLM' || arch === 'Qwen3ForCausalLM') {
    if (json.use_sliding_window) throw new Error(`${file}: use_sliding_window = true is not supported for ${arch}`);
  }

  const hiddenSize = requireInt(json, 'hidden_size', file);
  const heads = requireInt(json, 'num_attention_heads', file);
  const kvHeads = json.num_key_value_heads ?? heads;
  const headDim = json.head_dim ?? hiddenSize / heads;
  if (!Number.isInteger(headDim)) {
    throw new Error(`${file}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads} and head_dim is not given`);
  }
  const eos = json.eos_token_id;
  const eosIds = eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
  const config: ModelConfig = {
    architecture: arch,
    layers: requireInt(json, 'num_hidden_layers', file),
    hiddenSize,
    intermediateSize: requireInt(json, 'intermediate_size', file),
    heads,
    kvHeads,
    headDim,
    vocabSize: requireInt(json, 'vocab_size', file),
    maxPositions: json.max_position_embeddings ?? 2048,
    ropeTheta: json.rope_theta ?? 10000,
    ropeScaling: parseRopeScaling(json.rope_scaling, file),
    // HF checkpoints are permuted for rotate_half at conversion time.
    ropePairing: 'half',
    rmsEps: json.rms_norm_eps ?? 1e-6,
    qkNorm: arch === 'Qwen3ForCausalLM',
    attentionBias: arch === 'Qwen2ForCausalLM',
    tiedEmbeddings: json.tie_word_embeddings ?? false,
    slidingWindow: arch === 'MistralForCausalLM' ? (json.sliding_window ?? null) : null,
    bosId: json.bos_token_id ?? null,
    eosId: eosIds[0] ?? null,
    eosIds,
  };
  validateModelConfig(config, file);
  return config;
}
