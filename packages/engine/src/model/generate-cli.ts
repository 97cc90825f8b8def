// Writes a random-weight HF model directory.
// Usage: npx tsx packages/engine/src/model/generate-cli.ts <preset> <outDir> [--layers N] [--vocab N]
//          [--dtype F32|F16|BF16] [--shards N] [--seed N] [--std X]
import { parseArgs } from 'node:util';
import type { StorageDtype } from './dtype';
import { generateRandomModel } from './generate';
import type { PresetName, TinyPresetName } from './presets';
import { PRESET_NAMES, TINY_PRESET_NAMES } from './presets';

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      layers: { type: 'string' },
      vocab: { type: 'string' },
      dtype: { type: 'string', default: 'F32' },
      shards: { type: 'string' },
      seed: { type: 'string', default: '0' },
      std: { type: 'string' },
    },
  });
  const [preset, outDir] = positionals;
  const known = [...PRESET_NAMES, ...TINY_PRESET_NAMES] as string[];
  if (!preset || !outDir || !known.includes(preset)) {
    console.error(`usage: generate-cli <preset> <outDir> [--layers N] [--vocab N] [--dtype F32|F16|BF16] [--shards N] [--seed N]\npresets: ${known.join(', ')}`);
    process.exit(2);
  }
  const dtype = (values.dtype ?? 'F32').toUpperCase();
  if (!['F32', 'F16', 'BF16'].includes(dtype)) throw new Error(`--dtype must be F32, F16 or BF16, got "${values.dtype}"`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
  const started = Date.now();
  const result = generateRandomModel({
    preset: preset as PresetName | TinyPresetName,
    outDir,
    seed,
    layers: integer(values.layers, 'layers'),
    vocabSize: integer(values.vocab, 'vocab'),
    dtype: dtype as StorageDtype,
    shards: integer(values.shards, 'shards'),
    std: values.std === undefined ? undefined : Number(values.std),
  });
  const c = result.config;
  console.log(
    `${result.dir}: ${c.architecture} layers ${c.layers}, hidden ${c.hiddenSize}, heads ${c.heads}/${c.kvHeads}, ` +
      `vocab ${c.vocabSize}, ${dtype}, ${(result.weightBytes / 1e6).toFixed(1)} MB in ${result.files.filter((f) => f.endsWith('.safetensors')).length} file(s), ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main();
