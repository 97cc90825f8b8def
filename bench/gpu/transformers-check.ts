// Writes our ONNX engine's logits for random-weight Llama-3.2 / Qwen3 configs so that
// transformers_check.py can compare them with transformers' PyTorch implementation of the same weights.
// Run on the GPU machine (see ../../../shared/device/README.md):
//   tsx bench/gpu/transformers-check.ts --out DIR [--ep cpu,webgpu] [--layers 2]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createOnnxSession, generateRandomModel, loadHuggingFace, SeededRandom } from '@kvbench/engine';
import type { ExecutionProvider, PresetName } from '@kvbench/engine';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'gpu-check' },
    ep: { type: 'string', default: 'cpu' },
    layers: { type: 'string', default: '2' },
    presets: { type: 'string', default: 'Llama-3.2-1B,Qwen3-0.6B,Qwen3-4B' },
  },
});
const PREFILL = 24;
const STEPS = 8;

const providers = values.ep!.split(',') as ExecutionProvider[];
const summary: Record<string, unknown>[] = [];
for (const preset of values.presets!.split(',') as PresetName[]) {
  const dir = join(values.out!, preset);
  const t0 = performance.now();
  // Larger vocabularies are cut to keep one fp32 graph under the 2 GB protobuf limit without external data.
  const generated = generateRandomModel({ preset, outDir: dir, seed: 1234, layers: Number(values.layers), dtype: 'F32' });
  const model = await loadHuggingFace(dir);
  const rng = new SeededRandom(99);
  const tokens = Array.from({ length: PREFILL + STEPS }, () => 3 + Math.floor(rng.next() * (generated.config.vocabSize - 3)));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ tokens, prefill: PREFILL }));
  for (const provider of providers) {
    const session = await createOnnxSession(model, { quant: null, residualLength: 0, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' }, { provider, maxContext: 64 });
    const rows: Float32Array[] = [await session.prefill(tokens.slice(0, PREFILL))];
    for (let i = PREFILL; i < tokens.length; i++) rows.push(await session.step(tokens[i]));
    const flat = new Float32Array(rows.length * generated.config.vocabSize);
    rows.forEach((r, i) => flat.set(r, i * generated.config.vocabSize));
    writeFileSync(join(dir, `logits-${provider}.f32`), flat);
    await session.dispose();
    summary.push({ preset, provider, positions: rows.length, vocab: generated.config.vocabSize, seconds: (performance.now() - t0) / 1000 });
    console.log(JSON.stringify(summary[summary.length - 1]));
  }
}
mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, 'engine-summary.json'), JSON.stringify(summary, null, 2));
