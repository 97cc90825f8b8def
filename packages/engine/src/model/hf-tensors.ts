// The Hugging Face tensor names and shapes of a ModelConfig, and the mapping to ModelWeights. Shared by
// the loader (what to expect) and the generator (what to write), so the two cannot drift apart.
import type { LayerWeights, ModelConfig, ModelWeights } from './config';

export type TensorInit = 'normal' | 'ones';

export interface HfTensorSpec {
  name: string;
  shape: number[];
  /** How the random-weight generator fills it: N(0, std) matrices and biases, ones for norms. */
  init: TensorInit;
  /** Where it lands in ModelWeights: a top-level field or layers[layer][field]. */
  target: { field: 'embed' | 'finalNorm' | 'lmHead' } | { layer: number; field: keyof LayerWeights };
}

export function hfTensorSpecs(config: ModelConfig): HfTensorSpec[] {
  const h = config.hiddenSize;
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const m = config.intermediateSize;
  const specs: HfTensorSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [config.vocabSize, h], init: 'normal', target: { field: 'embed' } },
  ];
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}.`;
    const add = (name: string, shape: number[], init: TensorInit, field: keyof LayerWeights): void => {
      specs.push({ name: p + name, shape, init, target: { layer: l, field } });
    };
    add('input_layernorm.weight', [h], 'ones', 'attnNorm');
    add('self_attn.q_proj.weight', [q, h], 'normal', 'wq');
    add('self_attn.k_proj.weight', [kv, h], 'normal', 'wk');
    add('self_attn.v_proj.weight', [kv, h], 'normal', 'wv');
    add('self_attn.o_proj.weight', [h, q], 'normal', 'wo');
    if (config.attentionBias) {
      add('self_attn.q_proj.bias', [q], 'normal', 'bq');
      add('self_attn.k_proj.bias', [kv], 'normal', 'bk');
      add('self_attn.v_proj.bias', [kv], 'normal', 'bv');
    }
    if (config.qkNorm) {
      add('self_attn.q_norm.weight', [config.headDim], 'ones', 'qNorm');
      add('self_attn.k_norm.weight', [config.headDim], 'ones', 'kNorm');
    }
    add('post_attention_layernorm.weight', [h], 'ones', 'mlpNorm');
    add('mlp.gate_proj.weight', [m, h], 'normal', 'wGate');
    add('mlp.up_proj.weight', [m, h], 'normal', 'wUp');
    add('mlp.down_proj.weight', [h, m], 'normal', 'wDown');
  }
  specs.push({ name: 'model.norm.weight', shape: [h], init: 'ones', target: { field: 'finalNorm' } });
  if (!config.tiedEmbeddings) {
    specs.push({ name: 'lm_head.weight', shape: [config.vocabSize, h], init: 'normal', target: { field: 'lmHead' } });
  }
  return specs;
}

/** Builds ModelWeights from one float32 array per spec (lmHead aliases embed when tied). */
export function assembleWeights(config: ModelConfig, read: (spec: HfTensorSpec) => Float32Array): ModelWeights {
  const layers: Partial<LayerWeights>[] = Array.from({ length: config.layers }, () => ({}));
  const top: Partial<ModelWeights> = {};
  for (const spec of hfTensorSpecs(config)) {
    const data = read(spec);
    if ('layer' in spec.target) layers[spec.target.layer][spec.target.field] = data;
    else top[spec.target.field] = data;
  }
  return {
    embed: top.embed!,
    layers: layers as LayerWeights[],
    finalNorm: top.finalNorm!,
    lmHead: config.tiedEmbeddings ? top.embed! : top.lmHead!,
  };
}
