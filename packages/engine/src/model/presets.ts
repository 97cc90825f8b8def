// Published configs of the models kvbench targets, as their config.json on the Hugging Face hub declares
// them (base-model bos/eos ids), plus tiny configs of every family for tests. The memory planner and
// the random-weight generator read these; ModelConfig versions come from the same normalizer the HF
// loader uses, so nothing is restated by hand.
import type { ModelConfig } from './config';
import type { HfConfigJson } from './hf-config';
import { normalizeHfConfig } from './hf-config';

const LLAMA3_BASE = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rope_theta: 500000.0,
  rms_norm_eps: 1e-5,
  bos_token_id: 128000,
  eos_token_id: 128001,
} satisfies HfConfigJson;

const LLAMA31_ROPE = { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 };
const LLAMA32_ROPE = { ...LLAMA31_ROPE, factor: 32.0 };

const QWEN3_BASE = {
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  hidden_act: 'silu',
  attention_bias: false,
  head_dim: 128,
  vocab_size: 151936,
  max_position_embeddings: 40960,
  rope_theta: 1000000,
  rope_scaling: null,
  rms_norm_eps: 1e-6,
  sliding_window: null,
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
} satisfies HfConfigJson;

export const HF_PRESETS = {
  'Llama-3.2-1B': { ...LLAMA3_BASE, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, rope_scaling: LLAMA32_ROPE, tie_word_embeddings: true },
  'Llama-3.2-3B': { ...LLAMA3_BASE, hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 28, num_attention_heads: 24, num_key_value_heads: 8, head_dim: 128, rope_scaling: LLAMA32_ROPE, tie_word_embeddings: true },
  'Llama-3.1-8B': { ...LLAMA3_BASE, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128, rope_scaling: LLAMA31_ROPE, tie_word_embeddings: false },
  // Published as Instruct only; its eos list is the chat model's.
  'Llama-3.3-70B': { ...LLAMA3_BASE, hidden_size: 8192, intermediate_size: 28672, num_hidden_layers: 80, num_attention_heads: 64, num_key_value_heads: 8, head_dim: 128, rope_scaling: LLAMA31_ROPE, tie_word_embeddings: false, eos_token_id: [128001, 128008, 128009] },
  'Qwen3-0.6B': { ...QWEN3_BASE, hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, tie_word_embeddings: true },
  'Qwen3-4B': { ...QWEN3_BASE, hidden_size: 2560, intermediate_size: 9728, num_hidden_layers: 36, num_attention_heads: 32, num_key_value_heads: 8, tie_word_embeddings: true },
  'Qwen3-8B': { ...QWEN3_BASE, hidden_size: 4096, intermediate_size: 12288, num_hidden_layers: 36, num_attention_heads: 32, num_key_value_heads: 8, tie_word_embeddings: false },
  'Qwen3-14B': { ...QWEN3_BASE, hidden_size: 5120, intermediate_size: 17408, num_hidden_layers: 40, num_attention_heads: 40, num_key_value_heads: 8, tie_word_embeddings: false },
  'Qwen3-32B': { ...QWEN3_BASE, hidden_size: 5120, intermediate_size: 25600, num_hidden_layers: 64, num_attention_heads: 64, num_key_value_heads: 8, tie_word_embeddings: false },
  // Sliding-window attention (4096 positions): the family the window code paths serve.
  'Mistral-7B-v0.1': {
    architectures: ['MistralForCausalLM'],
    model_type: 'mistral',
    hidden_act: 'silu',
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    vocab_size: 32000,
    max_position_embeddings: 32768,
    rope_theta: 10000.0,
    rms_norm_eps: 1e-5,
    sliding_window: 4096,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
  },
} satisfies Record<string, HfConfigJson>;

export type PresetName = keyof typeof HF_PRESETS;
export const PRESET_NAMES = Object.keys(HF_PRESETS) as PresetName[];

/** Tiny configs, one per family feature, for tests (vocab 320 = 256 bytes + 2 specials + 62 merges). */
const TINY_COMMON = {
  hidden_act: 'silu',
  vocab_size: 320,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
} satisfies HfConfigJson;

export const TINY_HF_PRESETS = {
  'tiny-llama-mha': { ...TINY_COMMON, architectures: ['LlamaForCausalLM'], model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 4, rope_theta: 10000, tie_word_embeddings: false },
  'tiny-llama3-gqa': { ...TINY_COMMON, architectures: ['LlamaForCausalLM'], model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 500000, rope_scaling: { ...LLAMA32_ROPE, original_max_position_embeddings: 64 }, tie_word_embeddings: true },
  'tiny-qwen2-bias': { ...TINY_COMMON, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 1000000, rms_norm_eps: 1e-6, tie_word_embeddings: false, use_sliding_window: false },
  // head_dim 16 with 4 heads: q is 64 wide while hidden is 32, as in Qwen3 where head_dim is declared.
  'tiny-qwen3-qknorm': { ...TINY_COMMON, architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, rope_theta: 1000000, rms_norm_eps: 1e-6, tie_word_embeddings: true, attention_bias: false },
  'tiny-mistral': { ...TINY_COMMON, architectures: ['MistralForCausalLM'], model_type: 'mistral', num_attention_heads: 4, num_key_value_heads: 1, rope_theta: 1000000, sliding_window: 4096, tie_word_embeddings: false },
} satisfies Record<string, HfConfigJson>;

export type TinyPresetName = keyof typeof TINY_HF_PRESETS;
export const TINY_PRESET_NAMES = Object.keys(TINY_HF_PRESETS) as TinyPresetName[];

/** The config.json of a preset (published or tiny), as a fresh object. */
export function presetHfConfig(name: PresetName | TinyPresetName): HfConfigJson {
  const json = (HF_PRESETS as Record<string, HfConfigJson>)[name] ?? (TINY_HF_PRESETS as Record<string, HfConfigJson>)[name];
  if (!json) throw new Error(`unknown model preset "${name}" (known: ${[...PRESET_NAMES, ...TINY_PRESET_NAMES].join(', ')})`);
  return structuredClone(json);
}

/** The normalized config of a preset, e.g. for the memory planner. */
export function presetConfig(name: PresetName | TinyPresetName): ModelConfig {
  return normalizeHfConfig(presetHfConfig(name), `preset ${name}`);
}

/** Normalized configs of the published models, keyed by name. */
export const MODEL_PRESETS: Record<PresetName, ModelConfig> = Object.fromEntries(
  PRESET_NAMES.map((name) => [name, presetConfig(name)]),
) as Record<PresetName, ModelConfig>;
