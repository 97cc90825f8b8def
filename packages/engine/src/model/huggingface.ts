// Loader for Hugging Face model directories: config.json + *.safetensors (one file, or shards listed by
// model.safetensors.index.json), F32/F16/BF16 converted to float32.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedModel, ModelConfig, ModelProvenance } from './config';
import type { HfConfigJson } from './hf-config';
import { normalizeHfConfig } from './hf-config';
import { assembleWeights, hfTensorSpecs } from './hf-tensors';
import { weightsHash } from './hash';
import { SafetensorsFile } from './safetensors';

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read ${what}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: ${what} is not valid JSON: ${(error as Error).message}`);
  }
}

export function readHfConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  const json = readJson(path, 'config.json');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${path}: not a JSON object`);
  return normalizeHfConfig(json as HfConfigJson, path);
}

/** Tensor name -> the shard that holds it, and the shard file names in order. */
function locateTensors(dir: string): { owner: Map<string, SafetensorsFile>; shardNames: string[]; indexFile: string | null } {
  const indexPath = join(dir, SAFETENSORS_INDEX);
  const owner = new Map<string, SafetensorsFile>();
  if (existsSync(indexPath)) {
    const index = readJson(indexPath, 'safetensors index') as { weight_map?: Record<string, string> };
    const weightMap = index?.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null) throw new Error(`${indexPath}: missing weight_map`);
    const shardNames = [...new Set(Object.values(weightMap))].sort();
    const shards = new Map(shardNames.map((name) => [name, new SafetensorsFile(join(dir, name))]));
    for (const [tensor, shardName] of Object.entries(weightMap)) {
      const shard = shards.get(shardName)!;
      if (!shard.tensors.has(tensor)) throw new Error(`${shard.path}: missing tensor ${tensor} (listed in ${indexPath})`);
      owner.set(tensor, shard);
    }
    return { owner, shardNames, indexFile: indexPath };
  }
  const shardNames = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (shardNames.length === 0) throw new Error(`${dir}: no *.safetensors files (and no ${SAFETENSORS_INDEX})`);
  for (const name of shardNames) {
    const shard = new SafetensorsFile(join(dir, name));
    for (const tensor of shard.tensors.keys()) {
      const previous = owner.get(tensor);
      if (previous) throw new Error(`${shard.path}: tensor ${tensor} also present in ${previous.path}`);
      owner.set(tensor, shard);
    }
  }
  return { owner, shardNames, indexFile: null };
}

export function loadHuggingFace(dir: string, spec: string = dir): LoadedModel {
  const absolute = resolve(dir);
  const config = readHfConfig(absolute);
  const { owner, shardNames, indexFile } = locateTensors(absolute);
  const where = indexFile ?? shardNames.map((s) => join(absolute, s)).join(', ');

  // Check every expected tensor's presence and shape before reading any data.
  const specs = hfTensorSpecs(config);
  const dtypes = new Set<string>();
  for (const s of specs) {
    const file = owner.get(s.name);
    if (!file) throw new Error(`${where}: missing tensor ${s.name}`);
    const info = file.info(s.name);
    if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(`${file.path}: tensor ${s.name} has shape [${info.shape.join(', ')}], config.json implies [${s.shape.join(', ')}]`);
    }
    dtypes.add(info.dtype);
  }
  const weights = assembleWeights(config, (s) => owner.get(s.name)!.readFloat32(s.name));

  const provenance: ModelProvenance = {
    spec,
    format: 'huggingface',
    path: absolute,
    weightsSha256: weightsHash(shardNames.map((name) => ({ name, path: join(absolute, name) }))),
    files: shardNames,
    storedDtype: dtypes.size === 1 ? ([...dtypes][0] as ModelProvenance['storedDtype']) : 'mixed',
  };
  return { config, weights, provenance };
}
