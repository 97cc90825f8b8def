// Decode speed of the ONNX engine: tokens/s and per-step time at several context lengths for a
// reduced-depth Llama-3.2-1B-shaped random model, full-precision cache vs packed K4V2 and K2V2 caches,
// all measured in the same run (steps interleaved across the caches, median of several steps).
//
// Usage: npx tsx bench/engine/run.ts [--ep cpu|webgpu|cuda] [--dtype float32|float16] [--layers 2]
//          [--vocab 8192] [--contexts 512,2048,8192] [--steps 15] [--residual 128] [--threads N] [--spin]
//          [--out bench/results/engine.md]
// The three caches are three sessions measured round-robin; ORT's spinning thread pools would steal
// cores from the next session's run, so spinning is off unless --spin.
// Prints a table and writes it (with the setup) to --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { quantizerConfig, type KvQuantConfig } from '@kvbench/quant';
import type { CachePolicy, ExecutionProvider } from '../../packages/engine/src/evaluation';
import type { GraphDtype } from '../../packages/engine/src/graph';
import { presetConfig, randomModelWeights } from '../../packages/engine/src/model';
import { createOnnxSession, type OnnxDecoderSession } from '../../packages/engine/src/runtime';

const { values: args } = parseArgs({
  options: {
    ep: { type: 'string', default: 'cpu' },
    dtype: { type: 'string', default: 'float32' },
    layers: { type: 'string', default: '2' },
    vocab: { type: 'string', default: '8192' },
    contexts: { type: 'string', default: '512,2048,8192' },
    steps: { type: 'string', default: '15' },
    threads: { type: 'string' },
    spin: { type: 'boolean', default: false },
    residual: { type: 'string', default: '128' },
    out: { type: 'string', default: 'bench/results/engine.md' },
  },
});

const provider = args.ep as ExecutionProvider;
const dtype = args.dtype as GraphDtype;
const contexts = args.contexts!.split(',').map(Number);
const steps = Number(args.steps);
const warmup = 2;

const config = { ...presetConfig('Llama-3.2-1B'), layers: Number(args.layers), vocabSize: Number(args.vocab) };
const kv = (k: number, v: number): KvQuantConfig => ({
  key: quantizerConfig({ bits: k, backend: 'quanto', axis: 'per-token', groupSize: 64, metaDtype: 'fp16' }),
  value: quantizerConfig({ bits: v, backend: 'quanto', axis: 'per-token', groupSize: 64, metaDtype: 'fp16' }),
});
const policy = (quant: KvQuantConfig | null): CachePolicy => ({
  quant, residualLength: Number(args.residual), prefill: 'quantize-all', residualMode: 'append', mode: 'packed',
});
const CACHES: { name: string; policy: CachePolicy }[] = [
  { name: dtype === 'float16' ? 'fp16 (no quantization)' : 'fp32 (no quantization)', policy: policy(null) },
  { name: 'K4V2 packed (quanto, per-token, G64)', policy: policy(kv(4, 2)) },
  { name: 'K2V2 packed (quanto, per-token, G64)', policy: policy(kv(2, 2)) },
];

function tokens(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % config.vocabSize));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const t0 = performance.now();
  const weights = randomModelWeights(config, 1);
  const model = { config, weights };
  console.log(`model: Llama-3.2-1B shape, ${config.layers} layers, vocab ${config.vocabSize}; ${provider} ${dtype}; weights in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const maxContext = Math.max(...contexts) + warmup + steps + 8;
  const sessions: OnnxDecoderSession[] = [];
  for (const c of CACHES) {
    const sessionOptions = {
      ...(args.threads ? { intraOpNumThreads: Number(args.threads) } : {}),
      ...(args.spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    };
    sessions.push(await createOnnxSession(model, c.policy, { provider, dtype, maxContext, prefillChunk: 256, sessionOptions }));
  }
  console.log(`sessions ready (${sessions.map((s) => s.provider).join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  interface Row { cache: string; context: number; stepMs: number; tokensPerSecond: number; ratio: number; kvMiB: number; bytesPerToken: number }
  const rows: Row[] = [];
  for (const context of contexts) {
    const times: number[][] = sessions.map(() => []);
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[i];
      const have = s.memory().tokens;
      const t = performance.now();
      if (have === 0) await s.prefill(tokens(context, 7));
      else if (have < context) await s.append(tokens(context - have, have));
      if (i === 0) console.log(`context ${context}: filled in ${((performance.now() - t) / 1000).toFixed(1)} s per cache`);
    }
    // Interleaved: round r times one step of every cache, starting with a different one each round,
    // so drift and after-effects of the previous run hit all alike.
    for (let r = 0; r < warmup + steps; r++) {
      for (let j = 0; j < sessions.length; j++) {
        const i = (r + j) % sessions.length;
        const t = performance.now();
        await sessions[i].step((r * 31 + i) % config.vocabSize);
        if (r >= warmup) times[i].push(performance.now() - t);
      }
    }
    const base = median(times[0]);
    sessions.forEach((s, i) => {
      const m = s.memory();
      const stepMs = median(times[i]);
      rows.push({
        cache: CACHES[i].name,
        context,
        stepMs,
        tokensPerSecond: 1000 / stepMs,
        ratio: stepMs / base,
        kvMiB: m.heldBytes / 2 ** 20,
        bytesPerToken: m.quantizedBytesPerToken || m.heldBytes / m.tokens,
      });
    });
  }
  for (const s of sessions) await s.dispose();

  const header = '| context | cache | step (ms, median) | tokens/s | x full precision | KV held (MiB) | KV bytes/token |';
  const lines = [header, '|---:|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.context} | ${r.cache} | ${r.stepMs.toFixed(2)} | ${r.tokensPerSecond.toFixed(1)} | ${r.ratio.toFixed(3)} | ${r.kvMiB.toFixed(2)} | ${Math.round(r.bytesPerToken)} |`);
  }
  const table = lines.join('\n');
  console.log(`\n${table}\n`);
  const setup = [
    `- model: Llama-3.2-1B shape (hidden 2048, 32 heads, 8 KV heads, head_dim 64, MLP 8192), **${config.layers} layers** (of 16), **vocab ${config.vocabSize}** (of 128256), random weights`,
    `- provider ${provider}, dtype ${dtype}, intra-op threads ${args.threads ?? 'default (one per core)'}, thread spinning ${args.spin ? 'on' : 'off'}; machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `- caches: residual ${args.residual} tokens (fp), quantize-all prefill, append mode; the context is built with chunked prefill, then ${steps} decode steps per cache after ${warmup} warm-up steps, round-robin over the caches with a rotating start`,
    `- step time = wall time of DecoderSession.step() (decoder run + any flush of the residual into the packed history)`,
  ].join('\n');
  const out = `# Engine decode speed\n\nRecorded ${new Date().toISOString()} by \`npm run bench:engine${process.argv.slice(2).length ? ' -- ' + process.argv.slice(2).join(' ') : ''}\`.\n\n${setup}\n\n${table}\n`;
  mkdirSync(dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, out);
  console.log(`wrote ${args.out} (${((performance.now() - t0) / 1000).toFixed(0)} s total)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
