// The cache codecs of issue 6 on a GPU provider: a Walsh-Hadamard rotation, the three TurboQuant schemes
// and a norm-aware budget run through evaluate() on the provider (WebGPU by default, CPU fallback disabled)
// and on the CPU, on stories260K; prints (and writes) perplexity, KL and KV bytes for both and their
// difference. Same graphs, so float32 results should agree to a rare code flip at a rounding tie.
//   node .device/device-entry.mjs codecs [--ep webgpu] [--limit 4] [--out FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ENGINE_ASSETS_DIR, evaluate, type CachePolicy, type EvalOptions, type ExecutionProvider } from '@kvbench/engine';
import type { KvQuantConfig, QuantizerConfig } from '@kvbench/quant';

const q = (bits: number): QuantizerConfig => ({ bits, backend: 'quanto', axis: 'per-token', groupSize: 8, metaDtype: 'fp16', hqqMode: 'faithful' });
const kv = (k: number, v: number): KvQuantConfig => ({ key: q(k), value: q(v) });
const base = (quant: KvQuantConfig): CachePolicy => ({ quant, residualLength: 16, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' });

export const CODEC_CASES: [string, CachePolicy][] = [
  ['K4V2 quanto', base(kv(4, 2))],
  ['K4V2 + Hadamard rotation', { ...base(kv(4, 2)), rotation: { kind: 'hadamard', seed: 1 } }],
  ['TurboQuant KV 3 bits', { ...base(kv(3, 3)), turbo: { scheme: 'KV', seed: 1 } }],
  ['TurboQuant KQV 3 bits', { ...base(kv(3, 3)), turbo: { scheme: 'KQV', seed: 1 } }],
  ['TurboQuant QKQV 3 bits', { ...base(kv(3, 3)), turbo: { scheme: 'QKQV', seed: 1 } }],
  ['budget 3.5 (spectral, 1.58..8)', { ...base(kv(4, 4)), budget: { bits: 3.5, bitRange: [1.58, 2, 4, 6, 8], score: 'spectral', source: 'weights', groupBudget: null } }],
];

export async function codecsCheckMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ep: { type: 'string', default: 'webgpu' }, limit: { type: 'string', default: '4' }, out: { type: 'string' } } });
  const ep = values.ep as ExecutionProvider;
  // By path: in the device bundle, bundled names resolve next to the bundle, not KVBENCH_ENGINE_ASSETS.
  const data = join(ENGINE_ASSETS_DIR, 'data', 'tinystories', 'valid-a.txt');
  const rows = ['| cache | provider | perplexity | KL | KV bytes/token | rel. diff ppl vs cpu | wall (s) |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const [name, cache] of CODEC_CASES) {
    const options = (provider: ExecutionProvider): EvalOptions => ({ model: 'stories260k', data, format: 'text', protocol: 'ppl-decode', prompt: 32, maxTokens: 96, limit: Number(values.limit), provider, cache });
    const cpu = await evaluate(options('cpu'), {}, { inThread: false });
    rows.push(`| ${name} | cpu | ${cpu.metrics.perplexity!.toFixed(5)} | ${cpu.metrics.kl!.toFixed(5)} | ${cpu.memory.kvBytesPerToken} | - | ${cpu.speed.wallSeconds.toFixed(1)} |`);
    try {
      const gpu = await evaluate(options(ep), {}, { inThread: false });
      const diff = Math.abs(gpu.metrics.perplexity! / cpu.metrics.perplexity! - 1);
      rows.push(`| ${name} | ${gpu.provider} | ${gpu.metrics.perplexity!.toFixed(5)} | ${gpu.metrics.kl!.toFixed(5)} | ${gpu.memory.kvBytesPerToken} | ${diff.toExponential(2)} | ${gpu.speed.wallSeconds.toFixed(1)} |`);
    } catch (error) {
      rows.push(`| ${name} | ${ep} | error: ${(error as Error).message.slice(0, 200).replace(/\|/g, '/')} | | | | |`);
    }
    console.log(rows.slice(-2).join('\n'));
  }
  const text = `# Cache codecs on ${ep} vs cpu (stories260K)\n\nRecorded ${new Date().toISOString()} by \`node .device/device-entry.mjs codecs --ep ${ep} --limit ${values.limit}\` (bench/gpu/codecs-check.ts): ppl-decode on TinyStories, ${values.limit} documents, prompt 32, 96 tokens, residual 16, float32 graphs, packed caches; GPU sessions with CPU fallback disabled.\n\n${rows.join('\n')}\n`;
  if (values.out) writeFileSync(values.out, text);
  console.log(text);
}
