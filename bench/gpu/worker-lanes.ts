// The worker's own path on the GPU: jobs through the inference worker's EvaluationHosts, as a WebGPU
// worker runs them, once per $KVBENCH_KV_ROWS setting in the same process (exact first: the baseline).
// With 'auto' (the default) the runs that can reserve cache rows go to a child process with the
// size-exact buffer cache; the others stay in a thread of this process with exact rows
// (workers/inference/src/evaluation-hosts.ts). Each job is a ppl-decode of one long document (prompt
// tokens, then --steps decode steps on the quantized and the full-precision session, in --dtype),
// cache by cache, each over the prompt lengths. Prints, per job: the lane, the median
// decode step of the quantized session (EvalResult.speed.decodeStepMs), the job's wall time and
// nvidia-smi's memory.used after it.
//   node .device/device-entry.mjs lanes [--model Llama-3.2-1B:16] [--rows exact,auto] [--prompts 1024,4096,7000]
//     [--steps 64] [--caches fp16,K4V2,K4V2-per-channel] [--dtype float32|float16] [--out FILE]
// Needs KVBENCH_HOST_ENTRIES (the bundled host-thread.mjs and host-process.mjs: a bundle cannot start tsx).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLED_DATA_DIR, type CachePolicy, type EvalOptions } from '@kvbench/engine';
import { EvaluationHosts, routeForRows } from '../../workers/inference/src/evaluation-hosts';
import type { CacheRowsSetting } from '../../workers/inference/src/eval-options';
import { cachePolicy, ensureRandomModel, median, parseModels } from './decode-peer';
import { memoryUsedMiB } from './gpu-memory';

/** fp16 / K4V2 (quanto per-token G64, residual 128) / the same with per-channel keys (cannot reserve rows). */
function laneCache(name: string): CachePolicy {
  if (name !== 'K4V2-per-channel') return cachePolicy(name, 128);
  const policy = cachePolicy('K4V2', 128);
  return { ...policy, quant: { ...policy.quant!, key: { ...policy.quant!.key, axis: 'per-channel' } } };
}

/** Long documents for ppl-decode: WikiText-2's test text without its blank lines, in pieces of `chars`. */
function longDocuments(dir: string, chars: number, count: number): string {
  const text = readFileSync(join(BUNDLED_DATA_DIR, 'wikitext-2', 'wikitext-2-raw-test.crlf.txt'), 'utf8').replace(/\r/g, '').replace(/\n\s*\n/g, '\n');
  const docs = Array.from({ length: count }, (_, i) => text.slice(i * chars, (i + 1) * chars));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'long-documents.txt');
  writeFileSync(file, docs.join('\n\n'));
  return file;
}

export async function workerLanesMain(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'Llama-3.2-1B:16' },
      vocab: { type: 'string', default: '8192' },
      rows: { type: 'string', default: 'exact,auto' },
      prompts: { type: 'string', default: '1024,4096,7000' },
      steps: { type: 'string', default: '64' },
      caches: { type: 'string', default: 'fp16,K4V2,K4V2-per-channel' },
      'models-dir': { type: 'string', default: '/tmp/kvb-gpu/models' },
      out: { type: 'string' },
      // cpu: a smoke test of the bundle off the GPU machine (every run then stays in a thread)
      provider: { type: 'string', default: 'webgpu' },
      // EvalOptions.dtype (the run field computeDtype): float32 as evaluate() defaults, or float16
      dtype: { type: 'string', default: 'float32' },
    },
  });
  if (!process.env.KVBENCH_HOST_ENTRIES) throw new Error('KVBENCH_HOST_ENTRIES: set it to the folder of the bundled host-thread.mjs and host-process.mjs (bench/gpu/README.md)');
  const settings = a.rows!.split(',') as CacheRowsSetting[];
  const prompts = a.prompts!.split(',').map(Number);
  const steps = Number(a.steps);
  const caches = a.caches!.split(',');
  const [{ preset, layers }] = parseModels(a.model!);
  const t0 = performance.now();
  const model = ensureRandomModel(a['models-dir']!, preset, layers, Number(a.vocab));
  console.log(`model ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const data = longDocuments(join(a['models-dir']!, '..', 'data'), 200_000, 4);
  const out = [
    `# The worker's lanes on WebGPU: ${preset} (${layers} layers, random weights, vocabulary ${a.vocab}), ppl-decode of one long WikiText-2 document per job`,
    '',
    `\`node .device/device-entry.mjs lanes ${argv.join(' ')}\`; jobs through workers/inference's EvaluationHosts (1 slot, 1 model kept),`,
    `sessions in ${a.dtype}, ${steps} decode steps after the prompt on both sessions. memory.used before: ${memoryUsedMiB() ?? '-'} MiB.`,
    '',
    '| KVBENCH_KV_ROWS | job | prompt | cache | lane | rows | decode step, median (ms) | job wall (s) | memory.used after (MiB) |',
    '|---|---:|---:|---|---|---|---:|---:|---:|',
  ];
  // Written after every row: a device call cut off at its limit still brings back what it measured.
  const flush = () => a.out && writeFileSync(a.out, out.join('\n') + '\n');
  console.log(out.join('\n'));
  flush();
  const steps_: Record<string, number[]> = {};
  for (const rows of settings) {
    const hosts = new EvaluationHosts(1, { maxModels: 1 }, routeForRows(rows));
    let job = 0;
    try {
      // Cache-major, as a sweep's cells of one model arrive grouped by config: a lane switch costs a model load.
      for (const cache of caches) {
        for (const prompt of prompts) {
          job++;
          const options: EvalOptions = { model, data, format: 'text', protocol: 'ppl-decode', prompt, maxTokens: prompt + steps + 1, limit: 1, cache: laneCache(cache), provider: a.provider as EvalOptions['provider'], seed: 1, dtype: a.dtype as EvalOptions['dtype'] };
          console.log(`job ${job}: ${rows} ${cache} prompt ${prompt} (${((performance.now() - t0) / 1000).toFixed(0)} s in)`);
          const r = await hosts.evaluate(options);
          const lane = hosts.lanes().find((l) => l.loadedModels.includes(model))?.lane ?? '?';
          const step = r.speed.decodeStepMs ?? NaN;
          (steps_[`${rows} ${cache} ${prompt}`] ??= []).push(step);
          const row = `| ${rows} | ${job} | ${prompt} | ${cache} | ${lane} | ${r.protocolRecord?.kvRows ?? '-'} | ${step.toFixed(2)} | ${r.speed.wallSeconds.toFixed(1)} | ${memoryUsedMiB() ?? '-'} |`;
          out.push(row);
          console.log(row);
          flush();
        }
      }
      const s = hosts.stats();
      const line = `\n${rows}: model loads ${s.modelLoads}, host starts ${s.threadStarts}, processes recycled ${s.processesRecycled ?? 0}.`;
      out.push(line);
      console.log(line);
    } finally {
      await hosts.close();
    }
    const line = `after closing the ${rows} hosts: memory.used ${memoryUsedMiB() ?? '-'} MiB\n`;
    out.push(line, '');
    console.log(line);
  }
  if (settings.length === 2) {
    out.push(`| prompt | cache | ${settings[0]} step (ms) | ${settings[1]} step (ms) | ${settings[0]} / ${settings[1]} |`, '|---:|---|---:|---:|---:|');
    for (const prompt of new Set(prompts)) {
      for (const cache of caches) {
        const [x, y] = settings.map((r) => median(steps_[`${r} ${cache} ${prompt}`] ?? [NaN]));
        out.push(`| ${prompt} | ${cache} | ${x.toFixed(2)} | ${y.toFixed(2)} | ${(x / y).toFixed(2)} |`);
      }
    }
    console.log(out.slice(-2 - new Set(prompts).size * caches.length).join('\n'));
  }
  flush();
}
