// One entry point for every model spec: a bundled name, a llama2.c .bin file, or an HF directory.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedModel, ModelConfig } from './config';
import { loadHuggingFace, readHfConfig } from './huggingface';
import { loadLlama2c, readLlama2cConfig } from './llama2c';

/** packages/engine/assets, resolved from this file so it works from any working directory. */
// Overridable for bundles (esbuild moves import.meta.url) and images that keep assets elsewhere.
export const ENGINE_ASSETS_DIR = process.env.KVBENCH_ENGINE_ASSETS ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../assets');

/** Bundled models: name -> checkpoint and tokenizer files. */
export const BUNDLED_MODELS = {
  stories260k: {
    checkpoint: join(ENGINE_ASSETS_DIR, 'stories260k', 'stories260K.bin'),
    tokenizer: join(ENGINE_ASSETS_DIR, 'stories260k', 'tok512.bin'),
  },
} as const;

export type BundledModelName = keyof typeof BUNDLED_MODELS;

export type ModelSource =
  | { format: 'llama2c'; path: string; tokenizerPath: string | null }
  | { format: 'huggingface'; path: string };

/** Resolves a model spec to its format and files without reading weights. */
export function resolveModelSpec(spec: string): ModelSource {
  const bundled = (BUNDLED_MODELS as Record<string, { checkpoint: string; tokenizer: string }>)[spec.toLowerCase()];
  if (bundled) return { format: 'llama2c', path: bundled.checkpoint, tokenizerPath: bundled.tokenizer };
  const path = resolve(spec);
  if (!existsSync(path)) {
    throw new Error(`model "${spec}": no such file or directory (bundled models: ${Object.keys(BUNDLED_MODELS).join(', ')})`);
  }
  if (statSync(path).isDirectory()) return { format: 'huggingface', path };
  if (path.endsWith('.bin')) {
    // llama2.c keeps its tokenizer next to the checkpoint as tokenizer.bin (or tok<vocab>.bin).
    const candidate = join(dirname(path), 'tokenizer.bin');
    return { format: 'llama2c', path, tokenizerPath: existsSync(candidate) ? candidate : null };
  }
  throw new Error(`model "${spec}": expected a bundled name, a llama2.c .bin checkpoint or a Hugging Face directory`);
}

export async function loadModel(spec: string): Promise<LoadedModel> {
  const source = resolveModelSpec(spec);
  return source.format === 'llama2c' ? loadLlama2c(source.path, spec) : loadHuggingFace(source.path, spec);
}

/** A model spec's config without its weights (config.json, or a llama2.c header). */
export function readModelConfig(spec: string): ModelConfig {
  const source = resolveModelSpec(spec);
  return source.format === 'llama2c' ? readLlama2cConfig(source.path) : readHfConfig(source.path);
}
