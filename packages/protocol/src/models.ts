// Model shapes the planner needs (layers, KV heads, head size, parameter count). This is a small
// table of its own: `protocol` sits below the engine and must not import its presets.
import { z } from 'zod';

export const modelShapeSchema = z.strictObject({
  layers: z.int().min(1).max(1024),
  kvHeads: z.int().min(1).max(1024),
  headDim: z.int().min(1).max(4096),
  /** total parameter count (weights), used for weight memory and rough time estimates */
  params: z.number().positive().max(1e13),
  /** bytes per weight as stored (2 for fp16/bf16, 4 for fp32) */
  weightBytes: z.union([z.literal(1), z.literal(2), z.literal(4)]).default(2),
});
export type ModelShape = z.output<typeof modelShapeSchema>;

export interface KnownModel extends ModelShape {
  name: string;
  family: 'llama2c' | 'llama' | 'qwen3';
  /** other spellings accepted on input (Hugging Face ids) */
  aliases: string[];
}

const m = (
  name: string,
  family: KnownModel['family'],
  layers: number,
  kvHeads: number,
  headDim: number,
  params: number,
  aliases: string[],
  weightBytes: 1 | 2 | 4 = 2,
): KnownModel => ({ name, family, layers, kvHeads, headDim, params, weightBytes, aliases });

/** The seed models (real configs) and the bundled stories260K (fp32 llama2.c checkpoint). */
export const KNOWN_MODELS: readonly KnownModel[] = [
  m('stories260k', 'llama2c', 5, 4, 8, 260e3, ['stories260K', 'stories260K.bin'], 4),
  m('Llama-3.2-1B', 'llama', 16, 8, 64, 1.236e9, ['meta-llama/Llama-3.2-1B', 'meta-llama/Llama-3.2-1B-Instruct', 'Llama-3.2-1B-Instruct']),
  m('Llama-3.2-3B', 'llama', 28, 8, 128, 3.213e9, ['meta-llama/Llama-3.2-3B', 'meta-llama/Llama-3.2-3B-Instruct', 'Llama-3.2-3B-Instruct']),
  m('Llama-3.1-8B', 'llama', 32, 8, 128, 8.03e9, ['meta-llama/Llama-3.1-8B', 'meta-llama/Llama-3.1-8B-Instruct', 'Llama-3.1-8B-Instruct']),
  m('Llama-3.3-70B', 'llama', 80, 8, 128, 70.55e9, ['meta-llama/Llama-3.3-70B-Instruct', 'Llama-3.3-70B-Instruct']),
  m('Qwen3-0.6B', 'qwen3', 28, 8, 128, 0.596e9, ['Qwen/Qwen3-0.6B']),
  m('Qwen3-1.7B', 'qwen3', 28, 8, 128, 1.72e9, ['Qwen/Qwen3-1.7B']),
  m('Qwen3-4B', 'qwen3', 36, 8, 128, 4.02e9, ['Qwen/Qwen3-4B']),
  m('Qwen3-8B', 'qwen3', 36, 8, 128, 8.19e9, ['Qwen/Qwen3-8B']),
  m('Qwen3-14B', 'qwen3', 40, 8, 128, 14.77e9, ['Qwen/Qwen3-14B']),
  m('Qwen3-32B', 'qwen3', 64, 8, 128, 32.76e9, ['Qwen/Qwen3-32B']),
];

const byKey = new Map<string, KnownModel>();
for (const model of KNOWN_MODELS) {
  for (const key of [model.name, ...model.aliases]) byKey.set(key.toLowerCase(), model);
}

/** Finds a known model by name or alias, case-insensitively. */
export function findModel(name: string): KnownModel | undefined {
  return byKey.get(name.trim().toLowerCase());
}

/** A path to a local checkpoint (a directory or a llama2.c .bin): the worker resolves its shape. */
export function isLocalModelPath(name: string): boolean {
  return name.startsWith('/') || name.startsWith('./') || name.startsWith('../') || name.endsWith('.bin');
}
