// Runs the decoder session on a GPU provider and compares its logits with the CPU provider's, for a
// full-precision and several quantized caches, in fp32 and fp16. For the GPU machine (see
// ../shared/device/README.md): a session that needs a CPU fallback fails to open, and is reported.
// Usage: node gpu-check.mjs [--ep webgpu] [--out results.md]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { quantizerConfig, type QuantizerConfig } from '@kvbench/quant';
import type { CachePolicy, ExecutionProvider } from '../../packages/engine/src/evaluation';
import type { GraphDtype } from '../../packages/engine/src/graph';
import { presetConfig, randomModelWeights, type TinyPresetName } from '../../packages/engine/src/model';
import { createOnnxSession } from '../../packages/engine/src/runtime';

const { values: args } = parseArgs({ options: { ep: { type: 'string', default: 'webgpu' }, out: { type: 'string' }, only: { type: 'string' } } });
const provider = args.ep as ExecutionProvider;

const q = (c: Partial<QuantizerConfig>) => quantizerConfig(c);
const base: CachePolicy = { quant: null, residualLength: 8, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
const POLICIES: { name: string; policy: CachePolicy }[] = [
  { name: 'full precision', policy: base },
  { name: 'K4V2 per-token G8 append', policy: { ...base, quant: { key: q({ bits: 4, groupSize: 8 }), value: q({ bits: 2, groupSize: 8 }) } } },
  { name: 'KIVI per-channel K2 G8 + per-token V2, keep-residual', policy: { ...base, prefill: 'keep-residual', quant: { key: q({ bits: 2, axis: 'per-channel', groupSize: 8 }), value: q({ bits: 2, groupSize: 8 }) } } },
  { name: 'requantize quanto-per-channel K4 + hqq-per-channel V2', policy: { ...base, residualMode: 'requantize', residualLength: 4, quant: { key: q({ bits: 4, axis: 'quanto-per-channel', groupSize: 8 }), value: q({ bits: 2, backend: 'hqq', axis: 'hqq-per-channel', groupSize: 16 }) } } },
  { name: 'per-channel K4V4 G8 aligned, keep-residual (placeholder history)', policy: { ...base, prefill: 'keep-residual', quant: { key: q({ bits: 4, axis: 'per-channel', groupSize: 8 }), value: q({ bits: 4, axis: 'per-channel', groupSize: 8 }) } } },
  { name: 'K4V4 simulated', policy: { ...base, mode: 'simulated', quant: { key: q({ bits: 4, groupSize: 8 }), value: q({ bits: 4, groupSize: 8 }) } } },
];
const MODELS: TinyPresetName[] = ['tiny-llama3-gqa', 'tiny-qwen3-qknorm'];

function relativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

async function logits(model: { config: ReturnType<typeof presetConfig>; weights: ReturnType<typeof randomModelWeights> }, policy: CachePolicy, ep: ExecutionProvider, dtype: GraphDtype): Promise<{ logits: Float32Array[]; provider: string; ms: number }> {
  const trace = (what: string) => process.env.TRACE && console.error(`[${ep} ${dtype}] ${what}`);
  trace('create');
  const session = await createOnnxSession(model, policy, { provider: ep, dtype });
  trace('prefill');
  const t = performance.now();
  const out = [Float32Array.from(await session.prefill([1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41]))];
  const snapshot = session.snapshot();
  const token = (i: number) => (i * 17 + 3) % model.config.vocabSize;
  for (let i = 0; i < 24; i++) {
    trace(`step ${i}`);
    out.push(Float32Array.from(await session.step(token(i))));
  }
  const ms = (performance.now() - t) / 25;
  // Restoring the snapshot (its device tensors must have survived the steps) replays the same logits.
  session.restore(snapshot);
  for (let i = 0; i < 10; i++) {
    const again = await session.step(token(i));
    if (relativeError(again, out[i + 1]) > 1e-6) throw new Error(`snapshot: step ${i} after restore differs by ${relativeError(again, out[i + 1])}`);
  }
  const p = session.provider;
  await session.dispose();
  return { logits: out, provider: p, ms };
}

const lines = [
  '| model | cache | dtype | provider | max rel. error vs cpu fp32 | vs cpu, same dtype | packed vs simulated, same provider+dtype | ms/step |',
  '|---|---|---|---|---:|---:|---:|---:|',
];
const worst = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((row, i) => relativeError(row, b[i])));
for (const name of MODELS) {
  const config = presetConfig(name);
  const model = { config, weights: randomModelWeights(config, 1, 0.2) };
  for (const { name: cache, policy } of POLICIES.filter((p) => !args.only || p.name.includes(args.only))) {
    const cpu = await logits(model, policy, 'cpu', 'float32');
    for (const dtype of ['float32', 'float16'] as GraphDtype[]) {
      try {
        const gpu = await logits(model, policy, provider, dtype);
        const sameDtype = dtype === 'float32' ? cpu : await logits(model, policy, 'cpu', dtype);
        const simulated = policy.quant && policy.mode === 'packed' ? await logits(model, { ...policy, mode: 'simulated' }, provider, dtype) : null;
        const cells = [worst(gpu.logits, cpu.logits), worst(gpu.logits, sameDtype.logits)].map((e) => e.toExponential(2));
        cells.push(simulated ? worst(gpu.logits, simulated.logits).toExponential(2) : '');
        lines.push(`| ${name} | ${cache} | ${dtype} | ${gpu.provider} | ${cells.join(' | ')} | ${gpu.ms.toFixed(2)} |`);
      } catch (error) {
        lines.push(`| ${name} | ${cache} | ${dtype} | ${provider} | FAILED: ${(error as Error).message.slice(0, 300).replace(/\n/g, ' ')} | | | |`);
      }
      console.log(lines[lines.length - 1]);
    }
  }
}
const table = lines.join('\n');
console.log(`\n${table}`);
if (args.out) writeFileSync(args.out, `# GPU check (${provider})\n\n${table}\n`);
