// Decode speed and GPU memory of our ONNX engine (onnxruntime-node, WebGPU provider) for random-weight
// Llama-3.2-1B- and Qwen3-8B-shaped models (real widths, fewer layers, reduced vocabulary) at several
// context lengths, full-precision cache vs packed K4V4 / K4V2 / K2V2 (quanto, per-token, G64, residual
// 128, fp16 metadata). decode_peer.py measures transformers + PyTorch (CUDA) on the same HF directories
// with a cache that quantizes the same way; peer-join.ts puts both into gpu-peer.md.
//
// Each (model, cache) runs in its own child process so that its GPU memory (nvidia-smi, sampled every
// 50 ms) starts from nothing: the baseline is the device memory once the session is created (weights
// loaded), and each context's peak is measured against it. The child builds the contexts in ascending
// order (chunked prefill / append), times `steps` decode steps after WARMUP untimed ones at each, and skips a
// context when its fill is predicted to overrun the child's share of --budget.
//
// Usage (from the repository root):
//   npx tsx bench/gpu/decode-peer.ts [--ep webgpu|cpu] [--dtype float16|float32]
//     [--models Llama-3.2-1B:4,Qwen3-8B:2] [--vocab 8192] [--contexts 1024,8192,32768] [--steps 32]
//     [--caches fp16,K4V4,K4V2,K2V2] [--budget 270] [--models-dir /tmp/kvb-gpu/models]
//     [--out /tmp/kvb-gpu/gpu-peer-ours.json] [--rows OUT.rows.jsonl] [--score-mib 256] [--max-chunk 512]
// --score-mib bounds the chunk x context attention scores of one prefill run (256 MiB ran on WebGPU before:
// bench/results/engine-webgpu.md at 8192 tokens, chunk 256, fp32).
// On the GPU machine it runs from the bundle: node .device/device-entry.mjs decode ... (see README.md).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fp16KvBytesPerToken, kvBytesPerToken, quantizerConfig, type KvQuantConfig } from '@kvbench/quant';
import { createOnnxSession, generateRandomModel, loadHuggingFace, presetConfig, type CachePolicy, type ExecutionProvider, type OnnxDecoderSession, type PresetName, type SessionOptions } from '@kvbench/engine';
import { GpuMemorySampler } from './gpu-memory';

export const CACHE_NAMES = ['fp16', 'K4V4', 'K4V2', 'K2V2'] as const;
export type CacheName = (typeof CACHE_NAMES)[number];
// Untimed steps before the timed ones. Our packed-cache steps keep getting faster over the first few
// dozen steps of a process (WebGPU warm-up: 13.7 ms at the first context measured, 6.8 ms a few contexts
// later, bench/results/gpu-decode-profile.md); 32 on both sides measures the steady state.
export const WARMUP = 32;

/**
 * A cache name with this suffix (fp16-reserve, K4V2-reserve, ...) runs with rows reserved ahead (kvRows
 * 'reserve') in a process whose WebGPU storage buffers are cached by exact size ('simple'): not a default
 * cache, name it in --caches. Its peer is the peer's cache of the name without the suffix.
 */
export const RESERVE_SUFFIX = '-reserve';
export const isReserved = (name: string) => name.endsWith(RESERVE_SUFFIX);
/** The cache name without RESERVE_SUFFIX (what the peer runs). */
export const baseCache = (name: string) => (isReserved(name) ? name.slice(0, -RESERVE_SUFFIX.length) : name);

/** Bits of keys and values per cache name; null = full precision. */
export function cacheBits(name: string): { k: number; v: number } | null {
  const base = baseCache(name);
  if (base === 'fp16' || base === 'fp') return null;
  const m = /^K(\d)V(\d)$/.exec(base);
  if (!m) throw new Error(`cache: got ${JSON.stringify(name)}, allowed: ${CACHE_NAMES.join(', ')}, each optionally with ${RESERVE_SUFFIX}`);
  return { k: Number(m[1]), v: Number(m[2]) };
}

export function quantoKv(k: number, v: number): KvQuantConfig {
  const q = (bits: number) => quantizerConfig({ bits, backend: 'quanto', axis: 'per-token', groupSize: 64, metaDtype: 'fp16' });
  return { key: q(k), value: q(v) };
}

export function cachePolicy(name: string, residual: number): CachePolicy {
  const bits = cacheBits(name);
  return { quant: bits ? quantoKv(bits.k, bits.v) : null, residualLength: residual, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
}

/** "Llama-3.2-1B:4,Qwen3-8B:2" -> [{ preset, layers }] */
export function parseModels(spec: string): { preset: PresetName; layers: number }[] {
  return spec.split(',').filter(Boolean).map((item) => {
    const [preset, layers] = item.split(':');
    const n = Number(layers ?? 2);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--models: bad layer count in ${JSON.stringify(item)} (want NAME:LAYERS)`);
    return { preset: preset as PresetName, layers: n };
  });
}

export const modelDirName = (preset: string, layers: number, vocab: number) => `${preset}-L${layers}-V${vocab}`;

/** The HF directory (fp16 safetensors, seed 1234) of a random-weight preset with fewer layers and vocabulary; generated once. */
export function ensureRandomModel(modelsDir: string, preset: PresetName, layers: number, vocab: number): string {
  const dir = join(modelsDir, modelDirName(preset, layers, vocab));
  const meta = { preset, layers, vocab, seed: 1234, dtype: 'F16' };
  const metaFile = join(dir, 'kvbench-meta.json');
  if (!existsSync(metaFile) || readFileSync(metaFile, 'utf8') !== JSON.stringify(meta)) {
    const t = Date.now();
    generateRandomModel({ preset, outDir: dir, seed: meta.seed, layers, vocabSize: vocab, dtype: 'F16' });
    writeFileSync(metaFile, JSON.stringify(meta));
    console.log(`generated ${dir} in ${secs(Date.now() - t)} s`);
  }
  return dir;
}

/**
 * Extends the session's context to `context` tokens (deterministic ids) in runs of `chunk`: prefill first,
 * then append. Returns false when `stop()` ended it early.
 */
export async function fillContext(session: OnnxDecoderSession, context: number, chunk: number, stop: () => boolean = () => false): Promise<boolean> {
  const have = session.memory().tokens;
  const tokens = lcgTokens(context - have, 7 + have, session.vocabSize);
  for (let i = 0; i < tokens.length; i += chunk) {
    if (stop()) return false;
    const part = tokens.slice(i, i + chunk);
    if (session.memory().tokens === 0) await session.prefill(part);
    else await session.append(part);
  }
  return true;
}

/** The session's maxContext for timing `steps` decode steps (after WARMUP) at each of `contexts`, with a margin. */
export const decodeMaxContext = (contexts: number[], steps: number) => Math.max(...contexts) + WARMUP + steps + 8;

/** Milliseconds of each of `steps` decode steps after WARMUP untimed ones (token ids fixed per context). */
export async function timeDecodeSteps(session: OnnxDecoderSession, context: number, steps: number): Promise<number[]> {
  const times: number[] = [];
  for (let s = 0; s < WARMUP + steps; s++) {
    const t = performance.now();
    await session.step((s * 31 + context) % session.vocabSize);
    if (s >= WARMUP) times.push(performance.now() - t);
  }
  return times;
}

/** Deterministic token ids (an LCG, as bench/engine/run.ts). */
export function lcgTokens(n: number, seed: number, vocab: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % vocab));
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => (ms / 1000).toFixed(1);

/** One measured (model, cache, context), as the child writes it (JSON lines) and the report reads it. */
export interface OursRow {
  model: string;
  preset: string;
  layers: number;
  vocab: number;
  cache: string;
  context: number;
  status: 'ok' | 'skipped' | 'error';
  note?: string;
  provider?: string;
  dtype?: string;
  stepMsMedian?: number;
  stepMsMin?: number;
  stepMsMax?: number;
  tokensPerSecond?: number;
  steps?: number;
  fillSeconds?: number;
  fillChunk?: number;
  /** Engine's own accounting (session.memory()). */
  kvHeldBytes?: number;
  /** What the cache tensors occupy, rows reserved ahead included (session.memory().reservedBytes). */
  kvReservedBytes?: number;
  kvTokens?: number;
  historyTokens?: number;
  residualTokens?: number;
  /** Quantized part: bytes per token measured from the packed buffers; fp cache: held / tokens. */
  kvBytesPerTokenMeasured?: number;
  /** @kvbench/quant's kvBytesPerToken (fp cache: 2 * L * H * D * bytes of the dtype). */
  kvBytesPerTokenAccounted?: number;
  /** history * accounted + residual * fp bytes: what heldBytes should be. */
  kvHeldBytesAccounted?: number;
  /** nvidia-smi memory.used (MiB): after session creation, and the peaks over fill+decode / decode only, minus it. */
  gpuBaselineMiB?: number | null;
  gpuPeakDeltaMiB?: number | null;
  gpuDecodePeakDeltaMiB?: number | null;
  gpuSamples?: number;
}

interface ChildSpec {
  modelDir: string;
  model: string;
  preset: string;
  layers: number;
  vocab: number;
  cache: string;
  contexts: number[];
  steps: number;
  residual: number;
  provider: ExecutionProvider;
  dtype: 'float16' | 'float32';
  deadline: number; // epoch ms
  rowsFile: string;
  scoreMiB: number;
  maxChunk: number;
  /** Why this run is in float32 although float16 was asked for (a retry), recorded on its rows. */
  note?: string;
}

/** Prefill chunk for building a context: the chunk x context attention scores stay under scoreMiB. */
export function fillChunk(heads: number, context: number, bytesPerFloat: number, scoreMiB: number, maxChunk: number): number {
  const fit = Math.floor((scoreMiB * 2 ** 20) / (heads * context * bytesPerFloat));
  let chunk = 32;
  while (chunk * 2 <= Math.min(fit, maxChunk)) chunk *= 2;
  return chunk;
}

/**
 * Work (FLOP) of extending a context from a to b tokens: the linear layers, 2 * params per token, plus
 * attention over everything before, 4 * qDim per query and key (QK^T and PV), summed: 2 * qDim * (b^2 - a^2).
 */
export function fillFlops(shape: { layers: number; hiddenSize: number; intermediateSize: number; heads: number; kvHeads: number; headDim: number }, a: number, b: number): number {
  const q = shape.heads * shape.headDim;
  const kv = shape.kvHeads * shape.headDim;
  const params = shape.hiddenSize * (2 * q + 2 * kv) + 3 * shape.hiddenSize * shape.intermediateSize;
  return shape.layers * (2 * params * (b - a) + 2 * q * (b * b - a * a));
}

/** Predicted seconds to extend a context from a to b: the rate of the latest fill (s per FLOP) times the work, plus 25%. */
export function predictFill(history: { from: number; to: number; seconds: number }[], a: number, b: number, flops: (a: number, b: number) => number): number {
  if (history.length === 0) return NaN;
  const last = history[history.length - 1];
  return 1.25 * (last.seconds / flops(last.from, last.to)) * flops(a, b);
}

async function runChild(spec: ChildSpec): Promise<void> {
  const tag = `[${spec.model} ${spec.cache}]`;
  const sampler = new GpuMemorySampler();
  sampler.start();
  const write = (row: OursRow) => appendFileSync(spec.rowsFile, JSON.stringify(row) + '\n');
  const base = { model: spec.model, preset: spec.preset, layers: spec.layers, vocab: spec.vocab, cache: spec.cache };
  const t0 = performance.now();
  let session: OnnxDecoderSession | null = null;
  try {
    const model = await loadHuggingFace(spec.modelDir);
    const config = model.config;
    const maxContext = decodeMaxContext(spec.contexts, spec.steps);
    const policy = cachePolicy(spec.cache, spec.residual);
    const sessionOptions: SessionOptions = { extra: { session: { intra_op: { allow_spinning: '0' } } } };
    // Rows reserved ahead pay off when ORT's WebGPU allocator reuses buffers by exact size (this child's
    // process-wide setting; the default size buckets keep too few of each size: gpu-decode-profile.md section 9).
    const reserve = isReserved(spec.cache) ? ({ kvRows: 'reserve', attention: 'fused' } as const) : {};
    if (reserve.kvRows && spec.provider === 'webgpu') sessionOptions.executionProviders = [{ name: 'webgpu', storageBufferCacheMode: 'simple' } as never];
    let dtype = spec.dtype;
    let dtypeNote = spec.note ?? '';
    // KVB_FAIL_FLOAT16=create|run makes float16 fail here (testing the fallbacks without a GPU).
    const failFloat16 = (stage: string) => {
      if (dtype === 'float16' && process.env.KVB_FAIL_FLOAT16 === stage) throw new Error(`KVB_FAIL_FLOAT16=${stage}`);
    };
    try {
      failFloat16('create');
      session = await createOnnxSession(model, policy, { provider: spec.provider, dtype, maxContext, prefillChunk: spec.maxChunk, sessionOptions, layerStatsTokens: 0, ...reserve });
    } catch (error) {
      if (dtype !== 'float16') throw error;
      dtypeNote = `float16 session failed (${(error as Error).message.slice(0, 300)}); fell back to float32`;
      console.log(`${tag} NOTE: ${dtypeNote}`);
      dtype = 'float32';
      session = await createOnnxSession(model, policy, { provider: spec.provider, dtype, maxContext, prefillChunk: spec.maxChunk, sessionOptions, layerStatsTokens: 0, ...reserve });
    }
    await sleep(600);
    const baseline = sampler.latest();
    console.log(`${tag} session ${session.provider}/${dtype} ready in ${secs(performance.now() - t0)} s; GPU memory after load ${baseline ?? 'n/a'} MiB`);

    const bytes = dtype === 'float16' ? 2 : 4;
    const shape = { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim };
    const fpPerToken = fp16KvBytesPerToken(shape) * (bytes / 2);
    const accounted = policy.quant ? kvBytesPerToken(shape, policy.quant) : fpPerToken;
    const fills: { from: number; to: number; seconds: number }[] = [];
    let stepSecondsGuess = 0.05;
    const contexts = [...spec.contexts].sort((a, b) => a - b);
    for (let ci = 0; ci < contexts.length; ci++) {
      const context = contexts[ci];
      const have = session.memory().tokens;
      if (have >= context) {
        write({ ...base, context, status: 'skipped', note: `already at ${have} tokens` });
        continue;
      }
      const predicted = predictFill(fills, have, context, (a, b) => fillFlops(config, a, b)) + (WARMUP + spec.steps) * stepSecondsGuess * (context / Math.max(1, have));
      const left = (spec.deadline - Date.now()) / 1000;
      if (Number.isFinite(predicted) && predicted > left) {
        const note = `skipped: predicted ${predicted.toFixed(0)} s to build and time, ${left.toFixed(0)} s left of this run's share of --budget`;
        console.log(`${tag} context ${context}: ${note}`);
        for (const c of contexts.slice(ci)) write({ ...base, context: c, status: 'skipped', note });
        break;
      }
      failFloat16('run');
      const chunk = fillChunk(config.heads, context, bytes, spec.scoreMiB, spec.maxChunk);
      const fillStart = Date.now();
      // A build that runs well past the share (a wrong prediction) stops here rather than being killed.
      const aborted = !(await fillContext(session, context, chunk, () => Date.now() > spec.deadline + 20_000));
      const fillSeconds = (Date.now() - fillStart) / 1000;
      if (aborted) {
        const note = `aborted: building ${context} tokens took over ${fillSeconds.toFixed(0)} s (predicted ${Number.isFinite(predicted) ? predicted.toFixed(0) : '?'} s), past this run's share of --budget`;
        console.log(`${tag} context ${context}: ${note}`);
        for (const c of contexts.slice(ci)) write({ ...base, context: c, status: 'skipped', note });
        break;
      }
      fills.push({ from: have, to: context, seconds: fillSeconds });
      const decodeStart = Date.now();
      const times = await timeDecodeSteps(session, context, spec.steps);
      const decodeEnd = Date.now();
      await sleep(250); // let the last samples arrive
      const m = session.memory();
      const layout = session.cacheLayout()[0][0];
      const stepMs = median(times);
      stepSecondsGuess = stepMs / 1000;
      const peak = sampler.peak(fillStart, decodeEnd + 100);
      const decodePeak = sampler.peak(decodeStart, decodeEnd + 100);
      const row: OursRow = {
        ...base,
        context,
        status: 'ok',
        note: dtypeNote || undefined,
        provider: session.provider,
        dtype,
        stepMsMedian: stepMs,
        stepMsMin: Math.min(...times),
        stepMsMax: Math.max(...times),
        tokensPerSecond: 1000 / stepMs,
        steps: times.length,
        fillSeconds,
        fillChunk: chunk,
        kvHeldBytes: m.heldBytes,
        kvReservedBytes: m.reservedBytes,
        kvTokens: m.tokens,
        historyTokens: layout.historyTokens,
        residualTokens: layout.residualTokens,
        kvBytesPerTokenMeasured: policy.quant ? m.quantizedBytesPerToken : m.heldBytes / m.tokens,
        kvBytesPerTokenAccounted: accounted,
        kvHeldBytesAccounted: policy.quant ? accounted * layout.historyTokens + fpPerToken * layout.residualTokens : fpPerToken * m.tokens,
        gpuBaselineMiB: baseline,
        gpuPeakDeltaMiB: baseline === null || peak === null ? null : peak - baseline,
        gpuDecodePeakDeltaMiB: baseline === null || decodePeak === null ? null : decodePeak - baseline,
        gpuSamples: sampler.count(fillStart, decodeEnd + 100),
      };
      write(row);
      console.log(
        `${tag} context ${context}: filled in ${fillSeconds.toFixed(1)} s (chunk ${chunk}), step ${stepMs.toFixed(2)} ms (${row.tokensPerSecond!.toFixed(1)} tok/s), ` +
          `KV ${(m.heldBytes / 2 ** 20).toFixed(1)} MiB, GPU peak +${row.gpuPeakDeltaMiB ?? 'n/a'} MiB`,
      );
    }
  } catch (error) {
    const message = (error as Error).stack ?? String(error);
    console.log(`${tag} ERROR: ${message}`);
    write({ ...base, context: 0, status: 'error', note: (error as Error).message.slice(0, 500) });
    process.exitCode = 1;
  } finally {
    if (session) await session.dispose().catch(() => {});
    sampler.stop();
  }
}

export async function decodePeerMain(argv: string[]): Promise<void> {
  const childIndex = argv.indexOf('--child');
  if (childIndex >= 0) {
    await runChild(JSON.parse(argv[childIndex + 1]) as ChildSpec);
    return;
  }
  const { values: args } = parseArgs({
    args: argv,
    options: {
      ep: { type: 'string', default: 'webgpu' },
      dtype: { type: 'string', default: 'float16' },
      models: { type: 'string', default: 'Llama-3.2-1B:4,Qwen3-8B:2' },
      vocab: { type: 'string', default: '8192' },
      contexts: { type: 'string', default: '1024,8192,32768' },
      steps: { type: 'string', default: '32' },
      caches: { type: 'string', default: CACHE_NAMES.join(',') },
      residual: { type: 'string', default: '128' },
      budget: { type: 'string', default: '270' },
      'models-dir': { type: 'string', default: '/tmp/kvb-gpu/models' },
      out: { type: 'string', default: '/tmp/kvb-gpu/gpu-peer-ours.json' },
      'score-mib': { type: 'string', default: '256' },
      'max-chunk': { type: 'string', default: '512' },
      rows: { type: 'string' },
    },
  });
  const started = Date.now();
  const deadline = started + Number(args.budget) * 1000;
  const vocab = Number(args.vocab);
  const models = parseModels(args.models!);
  const caches = args.caches!.split(',').filter(Boolean);
  caches.forEach(cacheBits); // validates
  const contexts = args.contexts!.split(',').map(Number);
  const out = args.out!;
  mkdirSync(dirname(out), { recursive: true });
  const rowsFile = args.rows ?? `${out}.rows.jsonl`;
  mkdirSync(dirname(rowsFile), { recursive: true });
  rmSync(rowsFile, { force: true });

  // 1. The HF directories (fp16 safetensors) that both we and decode_peer.py load.
  const modelDirs: string[] = [];
  for (const { preset, layers } of models) {
    const dir = ensureRandomModel(args['models-dir']!, preset, layers, vocab);
    modelDirs.push(dir);
    const shape = { ...presetConfig(preset), layers };
    console.log(`${modelDirName(preset, layers, vocab)}: building ${Math.max(...contexts)} tokens is ${(fillFlops(shape, 0, Math.max(...contexts)) / 1e12).toFixed(1)} TFLOP per cache`);
  }

  // 2. One child per (model, cache), each with a fair share of what is left of the budget.
  const jobs = models.flatMap((m, i) => caches.map((cache) => ({ ...m, dir: modelDirs[i], cache })));
  const children: { model: string; cache: string; exitCode: number | null; seconds: number; killed: boolean }[] = [];
  const entry = process.argv.slice(1, process.argv.length - argv.length); // script (+ subcommand when bundled)
  const writeReport = () => {
    const rows = readRows(rowsFile);
    const report = {
      recorded: new Date().toISOString(),
      command: `decode-peer ${argv.join(' ')}`,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
      node: process.version,
      setup: { provider: args.ep, dtype: args.dtype, models, vocab, contexts, steps: Number(args.steps), warmup: WARMUP, caches, residual: Number(args.residual), budgetSeconds: Number(args.budget), scoreMiB: Number(args['score-mib']), maxChunk: Number(args['max-chunk']) },
      children,
      rows,
    };
    writeFileSync(out, JSON.stringify(report, null, 2));
  };
  /** Caches whose float16 run measured nothing: later models run them in float32 straight away. */
  const float16Failed = new Map<string, string>();
  for (let j = 0; j < jobs.length; j++) {
    const job = jobs[j];
    const now = Date.now();
    const share = (deadline - now) / (jobs.length - j);
    const spec: ChildSpec = {
      modelDir: job.dir,
      model: modelDirName(job.preset, job.layers, vocab),
      preset: job.preset,
      layers: job.layers,
      vocab,
      cache: job.cache,
      contexts,
      steps: Number(args.steps),
      residual: Number(args.residual),
      provider: args.ep as ExecutionProvider,
      dtype: args.dtype as 'float16' | 'float32',
      deadline: now + share,
      rowsFile,
      scoreMiB: Number(args['score-mib']),
      maxChunk: Number(args['max-chunk']),
    };
    const failedBefore = float16Failed.get(job.cache);
    if (spec.dtype === 'float16' && failedBefore) Object.assign(spec, { dtype: 'float32', note: `float16 failed for this cache on another model (${failedBefore.slice(0, 200)}); run in float32` });
    if (deadline - now < 15_000) {
      console.log(`--- ${spec.model} ${spec.cache}: skipped, the budget is spent`);
      for (const context of contexts) appendFileSync(rowsFile, JSON.stringify({ model: spec.model, preset: spec.preset, layers: spec.layers, vocab, cache: spec.cache, context, status: 'skipped', note: 'skipped: --budget spent before this run' } satisfies OursRow) + '\n');
      children.push({ model: spec.model, cache: spec.cache, exitCode: null, seconds: 0, killed: false });
      writeReport();
      continue;
    }
    console.log(`--- ${spec.model} ${spec.cache}: share ${secs(spec.deadline - now)} s (${secs(deadline - now)} s left of the budget)`);
    const t = Date.now();
    const { code, killed } = await runProcess([...process.execArgv, ...entry, '--child', JSON.stringify(spec)], spec.deadline + 45_000 - Date.now());
    children.push({ model: spec.model, cache: spec.cache, exitCode: code, seconds: (Date.now() - t) / 1000, killed });
    if (killed) appendFileSync(rowsFile, JSON.stringify({ model: spec.model, preset: spec.preset, layers: spec.layers, vocab, cache: spec.cache, context: 0, status: 'error', note: 'child killed: over its time share' } satisfies OursRow) + '\n');
    // A float16 run that measured nothing (an error, or a crash of the process) is run again in float32
    // with what is left of its share.
    const mine = readRows(rowsFile).filter((r) => r.model === spec.model && r.cache === spec.cache);
    if (!killed && spec.dtype === 'float16' && !mine.some((r) => r.status === 'ok') && spec.deadline - Date.now() > 15_000) {
      const why = mine.find((r) => r.status === 'error')?.note ?? `exit code ${code}`;
      float16Failed.set(spec.cache, why);
      const retry: ChildSpec = { ...spec, dtype: 'float32', note: `the float16 run failed (${why.slice(0, 200)}); this is a float32 rerun` };
      console.log(`--- ${spec.model} ${spec.cache}: float16 measured nothing (${why.slice(0, 200)}); rerunning in float32`);
      const t2 = Date.now();
      const again = await runProcess([...process.execArgv, ...entry, '--child', JSON.stringify(retry)], retry.deadline + 45_000 - Date.now());
      children.push({ model: spec.model, cache: `${spec.cache} (float32 rerun)`, exitCode: again.code, seconds: (Date.now() - t2) / 1000, killed: again.killed });
    }
    writeReport();
  }
  writeReport();
  console.log(`wrote ${out} (${secs(Date.now() - started)} s)`);
}

function readRows(file: string): OursRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).flatMap((line) => {
    try {
      return [JSON.parse(line) as OursRow];
    } catch {
      return []; // a line cut short by a killed child
    }
  });
}

/** Runs this script again as a child process (inheriting stdio); kills it after `limitMs`. */
function runProcess(args: string[], limitMs: number): Promise<{ code: number | null; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, Math.max(1000, limitMs));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed });
    });
  });
}

if (/decode-peer\.ts$/.test(process.argv[1] ?? '')) {
  decodePeerMain(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
