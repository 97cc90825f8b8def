// Where a decode step's time goes: the median step of our engine for a random-weight model under a few
// session variants (default, plain-op attention, one MatMul per projection instead of split-K, WebGPU validation
// off, int4 weights), and per cache one ONNX Runtime
// profile of the default variant's decode steps at the smallest context (or --profile-context), summed per operator type
// (host-side kernel time, plus the GPU's own timestamps where the provider records them).
// Result: bench/results/gpu-decode-profile.md.
//   node .device/device-entry.mjs profile [--ep webgpu] [--model Llama-3.2-1B:4] [--vocab 8192]
//     [--contexts 1024,8192] [--profile-context N] [--caches fp16,K4V2] [--profile-caches LIST (default --caches; '' none)]
//     [--steps 16] [--variants default,plain,fused,nosplitk,prefill1,prefill128,novalidation,int4,reserve,f32dequant,reserve-f32dequant,
//       simplecache,nocache,pendingN]
//     [--buffer-cache bucket|simple|disabled (every session of the process; default ORT's bucket)]
//     [--models-dir /tmp/kvb-gpu/models] [--work /tmp/kvb-gpu/profile] [--out FILE.md]
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createOnnxSession, loadHuggingFace, type ExecutionProvider, type OnnxDecoderSession, type OnnxSessionOptions, type SessionOptions } from '@kvbench/engine';
import { cachePolicy, decodeMaxContext, ensureRandomModel, fillChunk, fillContext, median, parseModels, timeDecodeSteps, WARMUP } from './decode-peer';

// simplecache / nocache (WebGPU storage buffers cached by exact size / not at all, instead of ORT's
// size buckets) and pendingN (N kernels per command buffer; ORT's default is 16) change
// process-wide WebGPU settings, which the first session of a process fixes: run them in a process of
// their own (--variants pending16), or use --buffer-cache for every session of the process. reserve: the
// cache keeps rows ahead of its tokens (kvRows 'reserve'). f32dequant / reserve-f32dequant: the packed history
// dequantized in float32 (historyArithmetic 'float32'), as before the GPU default became the graph's dtype.
// prefill1: prefill projections as one MatMul (splitKPrefill 0) instead of partial sums; prefill128: partial
// sums of 128 terms (the default is 256).
const VARIANTS = ['default', 'plain', 'fused', 'nosplitk', 'prefill1', 'prefill128', 'novalidation', 'int4', 'reserve', 'f32dequant', 'reserve-f32dequant', 'simplecache', 'nocache'] as const;
const BUFFER_CACHES = ['bucket', 'simple', 'disabled'] as const;
type Variant = (typeof VARIANTS)[number] | `pending${number}`;
const isVariant = (v: string): v is Variant => (VARIANTS as readonly string[]).includes(v) || /^pending[1-9]\d*$/.test(v);

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: Record<string, unknown>;
}

/**
 * Session options, weight bits, attention and split-K of a variant ('plain': plain-op attention where GPUs
 * default to fused; 'fused': GroupQueryAttention wherever the default is plain; 'nosplitk':
 * one MatMul per projection where GPUs default to split-K products).
 */
function variantOptions(
  variant: Variant,
  ep: ExecutionProvider,
  bufferCache: (typeof BUFFER_CACHES)[number],
  profilePrefix?: string,
): Pick<OnnxSessionOptions, 'attention' | 'splitK' | 'splitKPrefill' | 'kvRows' | 'historyArithmetic'> & { sessionOptions: SessionOptions; weightBits: 4 | 16 } {
  const extra: Record<string, unknown> = { session: { intra_op: { allow_spinning: '0' } } };
  if (variant.startsWith('pending')) extra['ep.webgpuexecutionprovider.maxNumPendingDispatches'] = variant.slice('pending'.length);
  const sessionOptions: SessionOptions = { extra };
  if (ep === 'webgpu') {
    const webgpu: Record<string, string> = { name: 'webgpu' };
    if (variant === 'novalidation') webgpu.validationMode = 'disabled';
    const mode = variant === 'simplecache' ? 'simple' : variant === 'nocache' ? 'disabled' : bufferCache;
    if (mode !== 'bucket') webgpu.storageBufferCacheMode = mode;
    if (Object.keys(webgpu).length > 1) sessionOptions.executionProviders = [webgpu as never];
  }
  if (profilePrefix) {
    sessionOptions.enableProfiling = true;
    sessionOptions.profileFilePrefix = profilePrefix;
  }
  return {
    sessionOptions,
    weightBits: variant === 'int4' ? 4 : 16,
    ...(variant === 'plain' ? { attention: 'plain' as const } : {}),
    ...(variant === 'fused' ? { attention: 'fused' as const } : {}),
    ...(variant === 'nosplitk' ? { splitK: 0 } : {}),
    ...(variant === 'prefill1' ? { splitKPrefill: 0 } : {}),
    ...(variant === 'prefill128' ? { splitKPrefill: 128 } : {}),
    ...(variant.startsWith('reserve') ? { kvRows: 'reserve' as const, attention: 'fused' as const } : {}),
    ...(variant.endsWith('f32dequant') ? { historyArithmetic: 'float32' as const } : {}),
  };
}

/** Fills the cache to `context` (prefill and append runs), then times decode steps; also the fill's tokens/s. */
async function timeSteps(session: OnnxDecoderSession, context: number, steps: number, heads: number, bytes: number): Promise<{ times: number[]; fillRate: number }> {
  const before = session.memory().tokens;
  const t = performance.now();
  await fillContext(session, context, fillChunk(heads, context, bytes, 256, 512));
  const fillRate = (session.memory().tokens - before) / ((performance.now() - t) / 1000);
  return { times: await timeDecodeSteps(session, context, steps), fillRate };
}

/**
 * Records the duration of each of the session's decoder run() calls (ONNX Runtime's call, feeds in and
 * outputs out), to tell it from the rest of a step. A diagnostic: it reaches into the session.
 */
function recordRuns(session: OnnxDecoderSession): number[] {
  const decoder = (session as unknown as { decoder: { run: (...args: unknown[]) => Promise<unknown> } }).decoder;
  const run = decoder.run.bind(decoder);
  const runs: number[] = [];
  decoder.run = async (...args: unknown[]) => {
    const t = performance.now();
    try {
      return await run(...args);
    } finally {
      runs.push(performance.now() - t);
    }
  };
  return runs;
}

/** Sums the profile's events inside the last `runs` model_run windows, per category and operator. */
export function summarizeProfile(events: ProfileEvent[], runs: number): { rows: string[]; stepUs: number; perRun: number } {
  const windows = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(-runs);
  if (windows.length === 0) return { rows: ['(no model_run events in the profile)'], stepUs: 0, perRun: 0 };
  const inside = (e: ProfileEvent) => windows.some((w) => e.ts >= w.ts && e.ts <= w.ts + w.dur);
  const groups = new Map<string, { us: number; count: number }>();
  for (const e of events) {
    if (e.cat === 'Session' || !inside(e)) continue;
    // Host-side node events carry op_name; the WebGPU provider's GPU timestamps ('Api') are named by
    // node, and GraphBuilder names nodes n_<Op>_<index>.
    let op = typeof e.args?.op_name === 'string' ? e.args.op_name : (/^n_([A-Za-z0-9]+)_\d+/.exec(e.name)?.[1] ?? e.name);
    // A node may run several programs (GroupQueryAttention: split/rotary, copy, QK, softmax·V): name them.
    if (typeof e.args?.shader_name === 'string') op += `: ${e.args.shader_name}`;
    const key = `${e.cat} | ${op}`;
    const g = groups.get(key) ?? { us: 0, count: 0 };
    g.us += e.dur;
    g.count += 1;
    groups.set(key, g);
  }
  const n = windows.length;
  const stepUs = windows.reduce((a, w) => a + w.dur, 0) / n;
  const sorted = [...groups.entries()].sort((a, b) => b[1].us - a[1].us);
  const totals = new Map<string, { us: number; count: number }>();
  for (const [key, g] of groups) {
    const cat = key.split(' | ')[0];
    const t = totals.get(cat) ?? { us: 0, count: 0 };
    t.us += g.us;
    t.count += g.count;
    totals.set(cat, t);
  }
  const rows = ['| category | op | per step (µs) | events per step | µs per event |', '|---|---|---:|---:|---:|'];
  for (const [cat, t] of totals) rows.push(`| ${cat} | (all) | ${(t.us / n).toFixed(0)} | ${(t.count / n).toFixed(1)} | ${(t.us / t.count).toFixed(1)} |`);
  for (const [key, g] of sorted.slice(0, 30)) {
    const [cat, op] = key.split(' | ');
    rows.push(`| ${cat} | ${op} | ${(g.us / n).toFixed(0)} | ${(g.count / n).toFixed(1)} | ${(g.us / g.count).toFixed(1)} |`);
  }
  return { rows, stepUs, perRun: n };
}

export async function decodeProfileMain(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      ep: { type: 'string', default: 'webgpu' },
      model: { type: 'string', default: 'Llama-3.2-1B:4' },
      vocab: { type: 'string', default: '8192' },
      contexts: { type: 'string', default: '1024,8192' },
      'profile-context': { type: 'string' },
      caches: { type: 'string', default: 'fp16,K4V2' },
      'profile-caches': { type: 'string' },
      steps: { type: 'string', default: '16' },
      variants: { type: 'string', default: 'default,plain,novalidation,int4' },
      dtype: { type: 'string', default: 'float16' },
      'models-dir': { type: 'string', default: '/tmp/kvb-gpu/models' },
      work: { type: 'string', default: '/tmp/kvb-gpu/profile' },
      'buffer-cache': { type: 'string', default: 'bucket' },
      out: { type: 'string' },
    },
  });
  const bufferCache = args['buffer-cache'] as (typeof BUFFER_CACHES)[number];
  if (!BUFFER_CACHES.includes(bufferCache)) throw new Error(`--buffer-cache: got ${JSON.stringify(bufferCache)}, allowed: ${BUFFER_CACHES.join(', ')}`);
  const ep = args.ep as ExecutionProvider;
  const dtype = args.dtype as 'float16' | 'float32';
  const [{ preset, layers }] = parseModels(args.model!);
  const vocab = Number(args.vocab);
  const contexts = args.contexts!.split(',').map(Number).sort((a, b) => a - b);
  const caches = args.caches!.split(',');
  const steps = Number(args.steps);
  const variants = args.variants!.split(',') as Variant[];
  for (const v of variants) if (!isVariant(v)) throw new Error(`--variants: ${JSON.stringify(v)} is not one of ${VARIANTS.join(', ')}, pendingN`);
  mkdirSync(args.work!, { recursive: true });
  const model = await loadHuggingFace(ensureRandomModel(args['models-dir']!, preset, layers, vocab));
  const { config } = model;
  const bytes = dtype === 'float16' ? 2 : 4;
  const profileContext = args['profile-context'] ? Number(args['profile-context']) : contexts[0];
  if (!Number.isInteger(profileContext) || profileContext < 1) throw new Error(`--profile-context: got ${JSON.stringify(args['profile-context'])}, want a positive integer`);
  const maxContext = decodeMaxContext([...contexts, profileContext], steps);
  const out: string[] = [
    `# Decode step on ${ep}: variants and an operator profile`,
    '',
    `Model: random-weight ${preset} shape, ${layers} layers, vocabulary ${vocab}, ${dtype}; WebGPU storage buffer cache ${bufferCache}; cache policy as gpu-peer.md (quanto per-token G64, residual 128). Median of ${steps} steps after ${WARMUP} warm-up steps; \`node .device/device-entry.mjs profile ${argv.join(' ')}\`.`,
    '',
    '| variant | cache | context | median step (ms) | min | max | median decoder run() (ms) | fill (tokens/s) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  const print = () => console.log(out.join('\n'));
  for (const variant of variants) {
    for (const cache of caches) {
      const { sessionOptions, weightBits, ...engine } = variantOptions(variant, ep, bufferCache);
      let session: OnnxDecoderSession | null = null;
      try {
        session = await createOnnxSession(model, cachePolicy(cache, 128), { provider: ep, dtype, maxContext, sessionOptions, layerStatsTokens: 0, weightBits, ...engine });
        const runs = recordRuns(session);
        for (const context of contexts) {
          const { times, fillRate } = await timeSteps(session, context, steps, config.heads, bytes);
          const stepRuns = runs.slice(-steps); // one decoder run per step; the timed steps are the last ones
          out.push(`| ${variant} | ${cache} | ${context} | ${median(times).toFixed(2)} | ${Math.min(...times).toFixed(2)} | ${Math.max(...times).toFixed(2)} | ${median(stepRuns).toFixed(2)} | ${fillRate.toFixed(0)} |`);
          console.log(out[out.length - 1]);
        }
      } catch (error) {
        out.push(`| ${variant} | ${cache} | | failed: ${(error as Error).message.slice(0, 160).replace(/\|/g, '/')} | | | | |`);
      } finally {
        await session?.dispose();
      }
    }
  }

  // One profiled session per cache: the default variant, the smallest context unless --profile-context.
  const context = profileContext;
  const profiled = args['profile-caches'] === undefined ? caches : args['profile-caches'].split(',').filter(Boolean);
  for (const cache of profiled) {
    const work = join(args.work!, `profile-${cache}`);
    mkdirSync(work, { recursive: true });
    const { sessionOptions, weightBits } = variantOptions('default', ep, bufferCache, join(work, 'ort-profile'));
    const session = await createOnnxSession(model, cachePolicy(cache, 128), { provider: ep, dtype, maxContext, sessionOptions, layerStatsTokens: 0, weightBits });
    const { times } = await timeSteps(session, context, steps, config.heads, bytes);
    await session.dispose(); // writes the profile file
    const file = readdirSync(work).filter((f) => f.startsWith('ort-profile') && f.endsWith('.json')).sort().pop();
    out.push('', `## Profile: default variant, ${cache}, context ${context} (profiling on: median step ${median(times).toFixed(2)} ms)`, '');
    if (!file) out.push('(ONNX Runtime wrote no profile file)');
    else {
      const events = JSON.parse(readFileSync(join(work, file), 'utf8')) as ProfileEvent[];
      const { rows, stepUs, perRun } = summarizeProfile(events, steps);
      out.push(`Sums over the last ${perRun} decoder runs (model_run ${(stepUs / 1000).toFixed(2)} ms each on average), top 30 by time; Node = host-side time per node, Api = the GPU's own timestamps per kernel:`, '', ...rows);
    }
  }
  print();
  if (args.out) writeFileSync(args.out, out.join('\n') + '\n');
}
