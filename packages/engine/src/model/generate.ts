// Deterministic random-weight Hugging Face directories for the published configs (optionally fewer
// layers / a smaller vocabulary) and the tiny test configs. Matrices ~ N(0, std) (std 0.02, as the
// configs' initializer_range), norms = 1, so activations stay O(1) through any depth. Values depend only
// on (seed, tensor name), never on dtype order or sharding.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildByteLevelBpe } from '../tokenizer/byte-level-bpe';
import type { ModelConfig, ModelWeights } from './config';
import type { StorageDtype } from './dtype';
import { DTYPE_BYTES, encodeFromFloat32 } from './dtype';
import type { HfConfigJson } from './hf-config';
import { normalizeHfConfig } from './hf-config';
import type { HfTensorSpec } from './hf-tensors';
import { assembleWeights, hfTensorSpecs } from './hf-tensors';
import { SAFETENSORS_INDEX } from './huggingface';
import { ENGINE_ASSETS_DIR } from './load';
import type { PresetName, TinyPresetName } from './presets';
import { presetHfConfig } from './presets';
import { SeededRandom } from './random';
import { writeSafetensors } from './safetensors';

export const DEFAULT_INIT_STD = 0.02;

/** One tensor's values: N(0, std) or ones, seeded by (seed, name). */
export function randomTensor(spec: Pick<HfTensorSpec, 'name' | 'shape' | 'init'>, seed: number, std = DEFAULT_INIT_STD): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  if (spec.init === 'ones') return values.fill(1);
  return new SeededRandom(`${seed}:${spec.name}`).fillNormal(values, std) as Float32Array;
}

/** The same weights generateRandomModel writes (at F32), built in memory: for tests without files. */
export function randomModelWeights(config: ModelConfig, seed = 0, std = DEFAULT_INIT_STD): ModelWeights {
  return assembleWeights(config, (spec) => randomTensor(spec, seed, std));
}

export interface GenerateModelOptions {
  /** A published or tiny preset name, or a config.json object. */
  preset: PresetName | TinyPresetName | HfConfigJson;
  outDir: string;
  seed?: number;
  /** Keep only the first N layers (num_hidden_layers). */
  layers?: number;
  /** Shrink the vocabulary (vocab_size); the tokenizer is built to fit. */
  vocabSize?: number;
  dtype?: StorageDtype;
  /** Split weights over this many safetensors files with model.safetensors.index.json (default 1). */
  shards?: number;
  std?: number;
  /** Cap on learned BPE merges in tokenizer.json (default 1000). */
  tokenizerMerges?: number;
}

export interface GeneratedModel {
  dir: string;
  config: ModelConfig;
  configJson: HfConfigJson;
  /** Files written, relative to dir. */
  files: string[];
  weightBytes: number;
}

const TORCH_DTYPE: Record<StorageDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** The text the tokenizer's merges are learned from: the start of the bundled TinyStories sample. */
function tokenizerCorpus(): string {
  return readFileSync(join(ENGINE_ASSETS_DIR, 'data', 'tinystories', 'valid-a.txt'), 'utf8').slice(0, 20000);
}

export function generateRandomModel(options: GenerateModelOptions): GeneratedModel {
  const seed = options.seed ?? 0;
  const dtype = options.dtype ?? 'F32';
  const shards = options.shards ?? 1;
  const std = options.std ?? DEFAULT_INIT_STD;
  if (!(dtype in DTYPE_BYTES)) throw new Error(`dtype ${dtype} is not one of F32, F16, BF16`);
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`);

  const configJson: HfConfigJson =
    typeof options.preset === 'string' ? presetHfConfig(options.preset) : structuredClone(options.preset);
  if (options.layers !== undefined) configJson.num_hidden_layers = options.layers;
  if (options.vocabSize !== undefined) configJson.vocab_size = options.vocabSize;
  configJson.torch_dtype = TORCH_DTYPE[dtype];

  // Tokenizer first: the config's bos/eos ids must be the tokenizer's.
  const tokenizer = buildByteLevelBpe({
    corpus: tokenizerCorpus(),
    vocabSize: configJson.vocab_size ?? 0,
    maxMerges: options.tokenizerMerges,
  });
  configJson.bos_token_id = tokenizer.bosId;
  configJson.eos_token_id = tokenizer.eosId;
  const config = normalizeHfConfig(configJson, 'generated config.json');

  mkdirSync(options.outDir, { recursive: true });
  const files: string[] = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
  writeFileSync(join(options.outDir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
  writeFileSync(join(options.outDir, 'tokenizer.json'), JSON.stringify(tokenizer.tokenizerJson));
  writeFileSync(join(options.outDir, 'tokenizer_config.json'), JSON.stringify(tokenizer.tokenizerConfig, null, 2) + '\n');

  // Split the tensor list into `shards` contiguous groups of about equal bytes.
  const specs = hfTensorSpecs(config);
  const sizeOf = (s: HfTensorSpec): number => s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  const totalBytes = specs.reduce((sum, s) => sum + sizeOf(s), 0);
  const groups: HfTensorSpec[][] = [[]];
  let running = 0;
  for (const spec of specs) {
    const current = groups[groups.length - 1];
    if (current.length > 0 && groups.length < shards && running >= (totalBytes * groups.length) / shards) groups.push([]);
    groups[groups.length - 1].push(spec);
    running += sizeOf(spec);
  }
  const shardName = (i: number): string =>
    shards === 1 ? 'model.safetensors' : `model-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`;

  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    const name = shardName(i);
    writeSafetensors(
      join(options.outDir, name),
      group.map((spec) => ({
        name: spec.name,
        dtype,
        shape: spec.shape,
        bytes: () => encodeFromFloat32(randomTensor(spec, seed, std), dtype),
      })),
      { format: 'pt', generator: 'kvbench', seed: String(seed) },
    );
    for (const spec of group) weightMap[spec.name] = name;
    files.push(name);
  });
  if (shards > 1) {
    writeFileSync(
      join(options.outDir, SAFETENSORS_INDEX),
      JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2) + '\n',
    );
    files.push(SAFETENSORS_INDEX);
  }
  return { dir: options.outDir, config, configJson, files, weightBytes: totalBytes };
}
