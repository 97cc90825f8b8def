// Device memory and decode step over many prompts of different lengths in one process, as a worker
// serving one job after another sees them: each document is a prefill of a random length and a few decode
// steps. With exact rows every prompt length and every step meets new buffer sizes; with reserved rows the
// runs and flushes keep a bounded set of sizes (runtime/cache-reserve.ts prefillRuns, powerOfTwoParts), which
// a size-exact buffer cache ('simple', process-wide: one configuration per process) can keep without growing.
// Prints after every `--every` documents: documents done, distinct prompt lengths so far, nvidia-smi's
// memory.used, the median decode step of those documents.
//   node .device/device-entry.mjs prompts [--ep webgpu] [--model Llama-3.2-1B:16] [--cache K4V2] [--rows exact|reserve]
//     [--buffer-cache bucket|simple] [--docs 40] [--steps 32] [--min 256] [--max 6000] [--every 5]
import { parseArgs } from 'node:util';
import { createOnnxSession, loadHuggingFace, type ExecutionProvider, type SessionOptions } from '@kvbench/engine';
import { cachePolicy, ensureRandomModel, median, parseModels } from './decode-peer';
import { memoryUsedMiB } from './gpu-memory';

export async function promptSizesMain(argv: string[]): Promise<void> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      ep: { type: 'string', default: 'webgpu' },
      model: { type: 'string', default: 'Llama-3.2-1B:16' },
      vocab: { type: 'string', default: '8192' },
      cache: { type: 'string', default: 'K4V2' },
      rows: { type: 'string', default: 'reserve' },
      'buffer-cache': { type: 'string', default: 'simple' },
      docs: { type: 'string', default: '40' },
      steps: { type: 'string', default: '32' },
      min: { type: 'string', default: '256' },
      max: { type: 'string', default: '6000' },
      every: { type: 'string', default: '5' },
      'models-dir': { type: 'string', default: '/tmp/kvb-gpu/models' },
    },
  });
  const ep = a.ep as ExecutionProvider;
  const rows = a.rows as 'exact' | 'reserve';
  if (rows !== 'exact' && rows !== 'reserve') throw new Error(`--rows: got ${JSON.stringify(a.rows)}, allowed: exact, reserve`);
  const bufferCache = a['buffer-cache']!;
  if (!['bucket', 'simple'].includes(bufferCache)) throw new Error(`--buffer-cache: got ${JSON.stringify(bufferCache)}, allowed: bucket, simple`);
  const [docs, steps, min, max, every] = [a.docs, a.steps, a.min, a.max, a.every].map(Number);
  const [{ preset, layers }] = parseModels(a.model!);
  const model = await loadHuggingFace(ensureRandomModel(a['models-dir']!, preset, layers, Number(a.vocab)));
  const sessionOptions: SessionOptions = {};
  if (ep === 'webgpu' && bufferCache !== 'bucket') sessionOptions.executionProviders = [{ name: 'webgpu', storageBufferCacheMode: bufferCache } as never];
  const before = memoryUsedMiB();
  const session = await createOnnxSession(model, cachePolicy(a.cache!, 128), { provider: ep, dtype: ep === 'cpu' ? 'float32' : 'float16', maxContext: max + steps + 8, sessionOptions, layerStatsTokens: 0, kvRows: rows, attention: 'fused' });
  const loaded = memoryUsedMiB();
  const out = [
    `# ${docs} prompts of ${min}-${max} tokens in one process: ${preset} (${layers} layers, random weights, vocabulary ${a.vocab}), ${a.cache}, rows ${rows}, WebGPU buffer cache ${bufferCache}`,
    '',
    `\`node .device/device-entry.mjs prompts ${argv.join(' ')}\`; nvidia-smi memory.used before the session ${before ?? '-'} MiB, after creating it ${loaded ?? '-'} MiB.`,
    '',
    '| documents | distinct lengths | memory.used (MiB) | median step of these documents (ms) | prefill tokens/s |',
    '|---:|---:|---:|---:|---:|',
  ];
  console.log(out.join('\n'));
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const lengths = new Set<number>();
  let times: number[] = [];
  let prefillTokens = 0;
  let prefillMs = 0;
  try {
    for (let d = 1; d <= docs; d++) {
      const length = min + Math.floor(next() * (max - min + 1));
      lengths.add(length);
      const tokens = Array.from({ length: length + steps }, () => Math.floor(next() * model.config.vocabSize));
      let t = performance.now();
      await session.prefill(tokens.slice(0, length));
      prefillMs += performance.now() - t;
      prefillTokens += length;
      for (const token of tokens.slice(length)) {
        t = performance.now();
        await session.step(token);
        times.push(performance.now() - t);
      }
      if (d % every === 0 || d === docs) {
        const row = `| ${d} | ${lengths.size} | ${memoryUsedMiB() ?? '-'} | ${median(times).toFixed(2)} | ${((prefillTokens / prefillMs) * 1000).toFixed(0)} |`;
        out.push(row);
        console.log(row);
        times = [];
        prefillTokens = 0;
        prefillMs = 0;
      }
    }
  } finally {
    await session.dispose();
  }
}
