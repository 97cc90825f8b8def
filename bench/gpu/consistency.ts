// GPU vs CPU consistency of the ONNX engine: the same prefill + decode steps on the CPU provider (float32,
// the reference) and on a GPU provider in float32 and float16 (and the CPU in float16, which separates
// fp16 rounding from the GPU's arithmetic), for the bundled stories260K and a random-weight
// Llama-3.2-1B-shaped model (2 layers, reduced vocabulary), with the full-precision cache and the packed
// K4V2 cache; int4 weights (MatMulNBits) on the GPU vs the CPU; and ppl-decode perplexity through
// evaluate() on a few TinyStories documents, CPU vs GPU. Writes gpu-consistency.md and .json.
//
// Usage (from the repository root):
//   npx tsx bench/gpu/consistency.ts [--ep webgpu|cpu] [--out-dir /tmp/kvb-gpu] [--budget 120]
// On the GPU machine it runs from the bundle: node .device/device-entry.mjs consistency ... (README.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createOnnxSession,
  ENGINE_ASSETS_DIR,
  evaluate,
  generateRandomModel,
  loadModel,
  loadTokenizer,
  runEvaluation,
  type CachePolicy,
  type EvalOptions,
  type EvaluationResources,
  type ExecutionProvider,
  type LoadedModel,
  type OnnxSessionOptions,
  type SessionModel,
} from '@kvbench/engine';
import { lcgTokens, modelDirName, quantoKv } from './decode-peer';
import { checkDequantArithmetic, type DequantCheck } from './dequant-arithmetic';

type Dtype = 'float32' | 'float16';

/** What every table row has: how its measurement went, and how long it took. */
interface Row {
  variant: string;
  status: 'ok' | 'error' | 'skipped';
  seconds?: number;
  note?: string;
}

interface LogitsRow extends Row {
  model: string;
  cache: string;
  weights: string;
  variant: string; // provider/dtype
  reference: string;
  status: 'ok' | 'error' | 'skipped';
  positions?: number;
  maxRelError?: number;
  meanRelError?: number;
  argmaxAgreement?: number;
  /** float16 runs on the GPU: against the CPU's float16 run (same precision, so only the arithmetic differs). */
  maxRelErrorVsCpuFloat16?: number;
  argmaxAgreementVsCpuFloat16?: number;
  target?: number;
  pass?: boolean;
  seconds?: number;
  note?: string;
}

interface DequantRow extends Row, Partial<DequantCheck> {
  codec: string;
  shape: string;
  pass?: boolean;
}

interface PplRow extends Row {
  model: string;
  cache: string;
  variant: string;
  status: 'ok' | 'error' | 'skipped';
  perplexity?: number;
  perplexityFp?: number;
  kl?: number;
  scoredTokens?: number;
  relDiffVsCpu?: number;
  relDiffFpVsCpu?: number;
  target?: number;
  pass?: boolean;
  seconds?: number;
  note?: string;
}

const relError = (a: Float32Array, b: Float32Array) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
};
const argmax = (a: Float32Array) => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
};
const tolerance = (dtype: Dtype) => (dtype === 'float16' ? 1e-2 : 1e-4);
const errorText = (error: unknown) => ((error as Error).message ?? String(error)).replace(/\s+/g, ' ').slice(0, 400);

const SECTIONS = ['logits', 'int4', 'ppl', 'reserve', 'window', 'arithmetic', 'fp16'] as const;
/** Section 4: a chunked prefill over a padded past, then decode steps across a growth (the fp cache: 256 -> 512 rows). */
const RESERVE_PROMPT = 240;
const RESERVE_STEPS = 40;

export async function consistencyMain(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      ep: { type: 'string', default: 'webgpu' },
      'out-dir': { type: 'string', default: '/tmp/kvb-gpu' },
      'models-dir': { type: 'string', default: '/tmp/kvb-gpu/models' },
      budget: { type: 'string', default: '120' },
      prompt: { type: 'string', default: '48' },
      steps: { type: 'string', default: '16' },
      residual: { type: 'string', default: '8' },
      layers: { type: 'string', default: '2' },
      vocab: { type: 'string', default: '8192' },
      'ppl-docs': { type: 'string', default: '4' },
      'ppl-prompt': { type: 'string', default: '32' },
      'ppl-tokens': { type: 'string', default: '96' },
      'ppl-residual': { type: 'string', default: '16' },
      models: { type: 'string', default: 'stories260k,Llama-3.2-1B' },
      sections: { type: 'string', default: SECTIONS.join(',') },
      window: { type: 'string', default: '32' },
    },
  });
  const sections = new Set(args.sections!.split(',').filter(Boolean));
  for (const x of sections) if (!(SECTIONS as readonly string[]).includes(x)) throw new Error(`--sections: got ${JSON.stringify(x)}, allowed: ${SECTIONS.join(', ')}`);
  const started = Date.now();
  const deadline = started + Number(args.budget) * 1000;
  const gpu = args.ep as ExecutionProvider;
  const outDir = args['out-dir']!;
  mkdirSync(outDir, { recursive: true });
  const prompt = Number(args.prompt);
  const steps = Number(args.steps);
  const residual = Number(args.residual);
  const layers = Number(args.layers);
  const vocab = Number(args.vocab);
  const timeLeft = () => (deadline - Date.now()) / 1000;

  const policy = (cache: string, residualLength: number): CachePolicy => ({
    quant: cache === 'K4V2' ? quantoKv(4, 2) : null,
    residualLength,
    prefill: 'quantize-all',
    residualMode: 'append',
    mode: 'packed',
  });

  // The models: a bundled name, or a random HF directory (fp16-representable weights, F16 safetensors).
  const models: { name: string; spec: string; note: string }[] = [];
  for (const m of args.models!.split(',').filter(Boolean)) {
    if (m.toLowerCase() === 'stories260k') {
      models.push({ name: 'stories260K', spec: 'stories260k', note: 'bundled llama2.c checkpoint' });
      continue;
    }
    const dir = join(args['models-dir']!, modelDirName(m, layers, vocab));
    const metaFile = join(dir, 'kvbench-meta.json');
    const meta = JSON.stringify({ preset: m, layers, vocab, seed: 1234, dtype: 'F16' });
    if (!existsSync(metaFile) || readFileSync(metaFile, 'utf8') !== meta) {
      const t = Date.now();
      generateRandomModel({ preset: m as 'Llama-3.2-1B', outDir: dir, seed: 1234, layers, vocabSize: vocab, dtype: 'F16' });
      writeFileSync(metaFile, meta);
      console.log(`generated ${dir} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    models.push({ name: `${m} (${layers} layers, vocab ${vocab}, random)`, spec: dir, note: 'random weights, real widths' });
  }
  const loaded = new Map<string, LoadedModel>();
  const load = async (spec: string) => {
    let m = loaded.get(spec);
    if (!m) loaded.set(spec, (m = await loadModel(spec)));
    return m;
  };

  const logitsRows: LogitsRow[] = [];
  const pplRows: PplRow[] = [];
  const int4Rows: LogitsRow[] = [];
  const reserveRows: LogitsRow[] = [];
  const windowRows: LogitsRow[] = [];
  const dequantRows: DequantRow[] = [];
  const arithmeticRows: LogitsRow[] = [];
  const fp16Rows: LogitsRow[] = [];
  const write = () => {
    const report = {
      recorded: new Date().toISOString(),
      command: `consistency ${argv.join(' ')}`,
      setup: { gpu, prompt, steps, residual, layers, vocab, pplDocs: Number(args['ppl-docs']), pplPrompt: Number(args['ppl-prompt']), pplTokens: Number(args['ppl-tokens']), pplResidual: Number(args['ppl-residual']) },
      logits: logitsRows,
      int4: int4Rows,
      perplexity: pplRows,
      reserve: reserveRows,
      window: windowRows,
      dequant: dequantRows,
      arithmetic: arithmeticRows,
      fp16: fp16Rows,
      seconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(outDir, 'gpu-consistency.json'), JSON.stringify(report, null, 2));
    writeFileSync(join(outDir, 'gpu-consistency.md'), markdown(report));
  };

  /**
   * One row of a table: `measure` fills it (skipped when fewer than `minLeft` seconds of the budget are
   * left; a failure is recorded as the row's error), then its time is noted, it is printed (`summary` for
   * a measured row) and the report is saved.
   */
  const record = async <R extends Row>(rows: R[], row: R, label: string, minLeft: number, measure: () => Promise<void>, summary: () => string) => {
    const t = Date.now();
    try {
      if (timeLeft() < minLeft) throw Object.assign(new Error('time budget spent'), { skipped: true });
      await measure();
    } catch (error) {
      row.status = (error as { skipped?: boolean }).skipped ? 'skipped' : 'error';
      row.note = errorText(error);
    }
    row.seconds = (Date.now() - t) / 1000;
    rows.push(row);
    console.log(`${label} ${row.variant}: ${row.status === 'ok' ? summary() : `${row.status}: ${row.note}`}`);
    write();
  };
  const logitsSummary = (row: LogitsRow) => () => `max rel ${row.maxRelError!.toExponential(2)}, argmax ${row.argmaxAgreement!.toFixed(3)}`;

  /** Prefill `prompt` tokens then `steps` decode steps; the logits of the last prefill position and every step. */
  const runLogits = async (model: SessionModel, cache: string, provider: ExecutionProvider, dtype: Dtype, weightBits: 16 | 4, extra: Pick<OnnxSessionOptions, 'attention' | 'kvRows' | 'historyArithmetic' | 'splitK' | 'splitKPrefill'> = {}) => {
    const session = await createOnnxSession(model, policy(cache, residual), { provider, dtype, maxContext: prompt + steps + 8, weightBits, layerStatsTokens: 0, ...extra });
    try {
      const tokens = lcgTokens(prompt + steps, 11, model.config.vocabSize);
      const rows: Float32Array[] = [Float32Array.from(await session.prefill(tokens.slice(0, prompt)))];
      for (let i = prompt; i < tokens.length; i++) rows.push(Float32Array.from(await session.step(tokens[i])));
      return { rows, provider: session.provider, dtype: session.dtype };
    } finally {
      await session.dispose();
    }
  };
  const compare = (rows: Float32Array[], ref: Float32Array[]) => {
    const rel = rows.map((r, i) => relError(r, ref[i]));
    const agree = rows.filter((r, i) => argmax(r) === argmax(ref[i])).length / rows.length;
    return { positions: rows.length, maxRelError: Math.max(...rel), meanRelError: rel.reduce((a, b) => a + b, 0) / rel.length, argmaxAgreement: agree };
  };
  const variants: { provider: ExecutionProvider; dtype: Dtype }[] = [
    { provider: 'cpu', dtype: 'float16' },
    { provider: gpu, dtype: 'float32' },
    { provider: gpu, dtype: 'float16' },
  ];

  // 1. Logits, fp and K4V2 caches.
  for (const m of sections.has('logits') ? models : []) {
    for (const cache of ['fp', 'K4V2']) {
      const base = { model: m.name, cache: cache === 'fp' ? 'full precision' : `K4V2 packed (quanto, per-token, G64, residual ${residual})`, weights: 'as loaded', reference: 'cpu/float32' };
      if (timeLeft() < 10) {
        for (const v of variants) logitsRows.push({ ...base, variant: `${v.provider}/${v.dtype}`, status: 'skipped', note: 'time budget spent' });
        continue;
      }
      let ref: Float32Array[];
      try {
        const model = await load(m.spec);
        ref = (await runLogits(model, cache, 'cpu', 'float32', 16)).rows;
      } catch (error) {
        for (const v of variants) logitsRows.push({ ...base, variant: `${v.provider}/${v.dtype}`, status: 'error', note: `reference failed: ${errorText(error)}` });
        write();
        continue;
      }
      let cpuFloat16: Float32Array[] | null = null;
      for (const v of variants) {
        const row: LogitsRow = { ...base, variant: `${v.provider}/${v.dtype}`, status: 'ok', target: tolerance(v.dtype) };
        await record(logitsRows, row, `logits ${m.name} ${cache}`, 5, async () => {
          const got = await runLogits(await load(m.spec), cache, v.provider, v.dtype, 16);
          Object.assign(row, compare(got.rows, ref));
          row.pass = row.maxRelError! <= row.target!;
          if (v.provider === 'cpu' && v.dtype === 'float16') cpuFloat16 = got.rows;
          else if (v.dtype === 'float16' && cpuFloat16) {
            const same = compare(got.rows, cpuFloat16);
            row.maxRelErrorVsCpuFloat16 = same.maxRelError;
            row.argmaxAgreementVsCpuFloat16 = same.argmaxAgreement;
          }
        }, logitsSummary(row));
      }
    }
  }

  // 2. int4 weights (MatMulNBits, block 32) on the GPU vs the CPU, full-precision cache.
  for (const m of sections.has('int4') ? models : []) {
    if (m.spec === 'stories260k') {
      int4Rows.push({ model: m.name, cache: 'full precision', weights: 'int4', variant: '-', reference: '-', status: 'skipped', note: 'refused by design: no MatMulNBits block size divides K = 172 of w_down' });
      continue;
    }
    const base = { model: m.name, cache: 'full precision', weights: 'int4 (MatMulNBits, block 32)', reference: 'cpu/float32 int4' };
    let ref: Float32Array[] | null = null;
    try {
      if (timeLeft() < 10) throw Object.assign(new Error('time budget spent'), { skipped: true });
      ref = (await runLogits(await load(m.spec), 'fp', 'cpu', 'float32', 4)).rows;
    } catch (error) {
      int4Rows.push({ ...base, variant: 'cpu/float32', status: (error as { skipped?: boolean }).skipped ? 'skipped' : 'error', note: errorText(error) });
      write();
      continue;
    }
    for (const v of [{ provider: gpu, dtype: 'float32' as Dtype }, { provider: gpu, dtype: 'float16' as Dtype }]) {
      const row: LogitsRow = { ...base, variant: `${v.provider}/${v.dtype}`, status: 'ok', target: tolerance(v.dtype) };
      await record(int4Rows, row, `int4 ${m.name}`, 5, async () => {
        const got = await runLogits(await load(m.spec), 'fp', v.provider, v.dtype, 4);
        Object.assign(row, compare(got.rows, ref));
        row.pass = row.maxRelError! <= row.target!;
        row.note = 'session created with CPU fallback disabled (runs on the GPU provider)';
      }, logitsSummary(row));
    }
  }

  // 3. Perplexity through evaluate() (ppl-decode, K4V2 vs the full-precision cache of the same run).
  const data = join(ENGINE_ASSETS_DIR, 'data', 'tinystories', 'valid-a.txt');
  for (const m of sections.has('ppl') ? models : []) {
    const options: EvalOptions = {
      model: m.spec,
      data,
      format: 'text',
      protocol: 'ppl-decode',
      prompt: Number(args['ppl-prompt']),
      maxTokens: Number(args['ppl-tokens']),
      limit: Number(args['ppl-docs']),
      cache: policy('K4V2', Number(args['ppl-residual'])),
      provider: 'cpu',
    };
    let cpu: PplRow | null = null;
    for (const v of [{ provider: 'cpu' as ExecutionProvider, dtype: 'float32' as Dtype }, { provider: gpu, dtype: 'float32' as Dtype }, { provider: gpu, dtype: 'float16' as Dtype }]) {
      const row: PplRow = { model: m.name, cache: `K4V2 packed (residual ${args['ppl-residual']}) and full precision`, variant: `${v.provider}/${v.dtype}`, status: 'ok' };
      await record(pplRows, row, `ppl ${m.name}`, 10, async () => {
        const o = { ...options, provider: v.provider };
        // evaluate() in this thread (a worker thread cannot start inside a bundle); float16 goes through
        // runEvaluation with sessions opened in float16 (EvalOptions has no dtype).
        const result =
          v.dtype === 'float32'
            ? await evaluate(o, {}, { inThread: false })
            : await runEvaluation(o, {}, () => {}, () => false, float16Resources());
        Object.assign(row, { perplexity: result.metrics.perplexity, perplexityFp: result.metrics.perplexityFp, kl: result.metrics.kl, scoredTokens: result.metrics.scoredTokens });
        if (v.provider === 'cpu' && v.dtype === 'float32') cpu = row;
        else if (cpu) {
          row.relDiffVsCpu = Math.abs(row.perplexity! - cpu.perplexity!) / cpu.perplexity!;
          row.relDiffFpVsCpu = Math.abs(row.perplexityFp! - cpu.perplexityFp!) / cpu.perplexityFp!;
          row.target = tolerance(v.dtype);
          row.pass = Math.max(row.relDiffVsCpu, row.relDiffFpVsCpu) <= row.target;
        }
      }, () => `ppl ${row.perplexity!.toFixed(4)} (fp ${row.perplexityFp!.toFixed(4)})`);
    }
  }
  // 4. Rows reserved ahead (kvRows 'reserve') on the GPU, full-precision and K4V2 packed caches, against the
  // same session with exact rows: GroupQueryAttention on a right-padded past, the reserve graph's growth,
  // and flushes placed into the packed history's spare rows.
  for (const [m, cache] of sections.has('reserve') ? models.flatMap((m) => ['fp', 'K4V2'].map((c) => [m, c] as const)) : []) {
    const what = cache === 'fp' ? 'full precision' : `K4V2 packed (residual ${residual})`;
    const base = { model: m.name, cache: `${what}, reserved rows (prefill ${RESERVE_PROMPT} in chunks of 64, ${RESERVE_STEPS} steps)`, weights: 'as loaded', reference: `${gpu}, exact rows` };
    if (m.spec === 'stories260k') {
      if (cache === 'fp') reserveRows.push({ ...base, cache: 'any', variant: '-', status: 'skipped', note: 'head_dim 8: no fused attention, so no reserved rows' });
      continue;
    }
    for (const dtype of ['float32', 'float16'] as Dtype[]) {
      const row: LogitsRow = { ...base, variant: `${gpu}/${dtype}`, status: 'ok', target: tolerance(dtype) };
      await record(reserveRows, row, `reserve ${m.name} ${cache}`, 10, async () => {
        const model = await load(m.spec);
        const tokens = lcgTokens(RESERVE_PROMPT + RESERVE_STEPS, 13, model.config.vocabSize);
        const run = async (kvRows: 'exact' | 'reserve') => {
          const session = await createOnnxSession(model, policy(cache, residual), { provider: gpu, dtype, maxContext: 1024, prefillChunk: 64, attention: 'fused', kvRows, layerStatsTokens: 0 });
          try {
            const rows: Float32Array[] = [Float32Array.from(await session.prefill(tokens.slice(0, RESERVE_PROMPT)))];
            for (let i = RESERVE_PROMPT; i < tokens.length; i++) rows.push(Float32Array.from(await session.step(tokens[i])));
            return { rows, memory: session.memory() };
          } finally {
            await session.dispose();
          }
        };
        const exact = await run('exact');
        const reserved = await run('reserve');
        Object.assign(row, compare(reserved.rows, exact.rows));
        row.pass = row.maxRelError! <= row.target!;
        row.note = `reserved / held bytes at the end: ${((reserved.memory.reservedBytes ?? 0) / reserved.memory.heldBytes).toFixed(2)} (${reserved.memory.tokens} tokens)`;
      }, () => `max rel ${row.maxRelError!.toExponential(2)} (${row.note})`);
    }
  }
  // 5. Sliding window through fused attention (GroupQueryAttention's local_window_size) on the GPU against
  // the CPU's plain ops, for models with a window, shortened to --window so that the prompt crosses it.
  const window = Number(args.window);
  for (const m of sections.has('window') ? models : []) {
    if (m.spec === 'stories260k') continue;
    const base = { model: `${m.name}, window ${window}`, cache: 'full precision', weights: 'as loaded', reference: 'cpu/float32 (plain ops)' };
    let model: SessionModel;
    let ref: Float32Array[];
    try {
      const loadedModel = await load(m.spec);
      if (loadedModel.config.slidingWindow === null) continue;
      // Its own weights object: graphs are cached per weights, and the window changes the graph.
      model = { config: { ...loadedModel.config, slidingWindow: window }, weights: { ...loadedModel.weights } };
      if (timeLeft() < 10) throw Object.assign(new Error('time budget spent'), { skipped: true });
      ref = (await runLogits(model, 'fp', 'cpu', 'float32', 16, { attention: 'plain' })).rows;
    } catch (error) {
      windowRows.push({ ...base, variant: '-', status: (error as { skipped?: boolean }).skipped ? 'skipped' : 'error', note: errorText(error) });
      write();
      continue;
    }
    const runs: { dtype: Dtype; extra: Pick<OnnxSessionOptions, 'attention' | 'kvRows'>; label: string }[] = [
      { dtype: 'float32', extra: { attention: 'fused' }, label: 'fused' },
      { dtype: 'float16', extra: { attention: 'fused' }, label: 'fused' },
      { dtype: 'float16', extra: { attention: 'fused', kvRows: 'reserve' }, label: 'fused, reserved rows' },
      { dtype: 'float16', extra: { attention: 'plain' }, label: 'plain' },
    ];
    for (const r of runs) {
      const row: LogitsRow = { ...base, variant: `${gpu}/${r.dtype} ${r.label}`, status: 'ok', target: tolerance(r.dtype) };
      await record(windowRows, row, `window ${m.name}`, 5, async () => {
        Object.assign(row, compare((await runLogits(model, 'fp', gpu, r.dtype, 16, r.extra)).rows, ref));
        row.pass = row.maxRelError! <= row.target!;
      }, logitsSummary(row));
    }
  }
  // 6. The packed history dequantized in float16 arithmetic (historyArithmetic 'compute', the GPU default)
  // against float32 arithmetic: one dequantization against float64, then the logits of whole runs.
  if (sections.has('arithmetic')) {
    const shape: [number, number, number, number] = [1, 8, 4096, 64];
    for (const bits of [4, 2]) {
      const cfg = quantoKv(bits, bits).key;
      const row: DequantRow = { codec: `quanto per-token G64 ${bits}-bit, fp16 metadata`, shape: `[${shape.join(', ')}]`, variant: `${gpu}/float16`, status: 'ok' };
      await record(dequantRows, row, 'dequant', 5, async () => {
        Object.assign(row, await checkDequantArithmetic(gpu, cfg, shape, 7 + bits));
        row.pass = row.worstInBounds! <= 1;
      }, () => `worst ${row.worstInBounds!.toFixed(3)} of two float16 roundings, ${row.differing} of ${row.elements} differ from float32 arithmetic`);
    }
    for (const m of models) {
      if (m.spec === 'stories260k') continue; // per-token G64 needs head_dim 64
      const base = { model: m.name, cache: `K4V2 packed (residual ${residual})`, weights: 'as loaded', reference: `${gpu}/float16, float32 dequantization` };
      const row: LogitsRow = { ...base, variant: `${gpu}/float16, float16 dequantization`, status: 'ok', target: tolerance('float16') };
      await record(arithmeticRows, row, `arithmetic ${m.name}`, 10, async () => {
        const model = await load(m.spec);
        const single = await runLogits(model, 'K4V2', gpu, 'float16', 16, { historyArithmetic: 'float32' });
        const half = await runLogits(model, 'K4V2', gpu, 'float16', 16, { historyArithmetic: 'compute' });
        Object.assign(row, compare(half.rows, single.rows));
        row.pass = row.maxRelError! <= row.target!;
      }, logitsSummary(row));
    }
  }
  // 7. Where float16 error comes from on the GPU: the full-precision cache's float16 logits against the CPU's
  // float32 with the graph's float16 sums changed one at a time (prefill partial products, split-K chunk,
  // attention form).
  for (const m of sections.has('fp16') ? models : []) {
    if (m.spec === 'stories260k') continue; // no split-K or fused attention at its widths
    let ref: Float32Array[];
    try {
      ref = (await runLogits(await load(m.spec), 'fp', 'cpu', 'float32', 16)).rows;
    } catch (error) {
      fp16Rows.push({ model: m.name, cache: 'full precision', weights: 'as loaded', reference: 'cpu/float32', variant: '-', status: 'error', note: errorText(error) });
      continue;
    }
    const runs: { label: string; extra: Pick<OnnxSessionOptions, 'attention' | 'splitK' | 'splitKPrefill'> }[] = [
      { label: 'GPU defaults (split-K 128, prefill in partial sums of 256 terms, fused attention)', extra: {} },
      { label: 'prefill in partial sums of 128 terms', extra: { splitKPrefill: 128 } },
      { label: 'prefill in partial sums of 1024 terms', extra: { splitKPrefill: 1024 } },
      { label: 'prefill as one MatMul', extra: { splitKPrefill: 0 } },
      { label: 'split-K 32', extra: { splitK: 32 } },
      { label: 'one MatMul per projection (prefill and decode)', extra: { splitK: 0 } },
      { label: 'plain attention', extra: { attention: 'plain' } },
    ];
    for (const r of runs) {
      const row: LogitsRow = { model: m.name, cache: 'full precision', weights: 'as loaded', reference: 'cpu/float32', variant: `${gpu}/float16, ${r.label}`, status: 'ok', target: tolerance('float16') };
      await record(fp16Rows, row, `fp16 ${m.name}`, 5, async () => {
        const got = await runLogits(await load(m.spec), 'fp', gpu, 'float16', 16, r.extra);
        Object.assign(row, compare(got.rows, ref));
        // The decode steps apart from the prefill position (they run the other branch of each projection).
        row.note = `decode steps only: max ${fmt(compare(got.rows.slice(1), ref.slice(1)).maxRelError)}`;
        row.pass = row.maxRelError! <= row.target!;
      }, () => `${logitsSummary(row)()} (${row.note})`);
    }
  }
  write();
  console.log(`wrote ${join(outDir, 'gpu-consistency.md')} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

/** evaluate()'s default resources, with both sessions in float16. */
function float16Resources(): EvaluationResources {
  return {
    loadModel,
    loadTokenizer,
    openOnnxSession: (model, policy, options) =>
      createOnnxSession(model, policy, { provider: options.provider, dtype: 'float16', sessionOptions: options.sessionOptions as never, weightBits: options.weightBits }),
  };
}

const fmt = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toExponential(digits));
const verdict = (r: { status: string; pass?: boolean; note?: string }) => (r.status !== 'ok' ? `${r.status}: ${r.note ?? ''}` : r.pass === undefined ? 'reference' : r.pass ? 'pass' : 'FAIL');

function markdown(r: {
  recorded: string;
  command: string;
  setup: Record<string, unknown>;
  logits: LogitsRow[];
  int4: LogitsRow[];
  perplexity: PplRow[];
  reserve: LogitsRow[];
  window: LogitsRow[];
  dequant: DequantRow[];
  arithmetic: LogitsRow[];
  fp16: LogitsRow[];
  seconds: number;
}): string {
  const s = r.setup as { gpu: string; prompt: number; steps: number; residual: number; layers: number; vocab: number; pplDocs: number; pplPrompt: number; pplTokens: number; pplResidual: number };
  const lines = [
    '# GPU vs CPU consistency of the ONNX engine',
    '',
    `Recorded ${r.recorded} on the GPU machine (device tool) by \`node .device/device-entry.mjs ${r.command}\` (bench/gpu/device-run.sh), ${r.seconds.toFixed(0)} s.`,
    '',
    `- reference: the CPU provider in float32; compared: the CPU in float16 (fp16 rounding alone), ${s.gpu} in float32 and in float16`,
    `- logits: ${s.prompt}-token prefill, then ${s.steps} decode steps; relative error per position = ||x - ref|| / ||ref|| over the vocabulary (positions = last prefill token + each step); argmax agreement with the reference`,
    `- caches: full precision, and K4V2 packed (quanto, per-token, group 64, fp16 metadata, quantize-all prefill, residual ${s.residual} so that decode steps flush into the packed history)`,
    `- models: stories260K (bundled); Llama-3.2-1B shape (hidden 2048, 32 heads, 8 KV heads, head_dim 64, MLP 8192), **${s.layers} layers, vocab ${s.vocab}** (of 128256), random weights stored as fp16 (so fp16 weights are exact)`,
    '- targets: max relative error <= 1e-4 in float32, <= 1e-2 in float16',
    '',
    '## Logits',
    '',
    'The last two columns compare a GPU float16 run with the CPU float16 run (same precision: only the arithmetic differs). With a quantized cache, a rounding difference that moves one value across a code boundary changes its code, so float16 vs float32 differences are larger there than with the full-precision cache.',
    '',
    '| model | cache | run | positions | max rel. error | mean rel. error | argmax agreement | target | verdict | max rel. error vs cpu/float16 | argmax vs cpu/float16 |',
    '|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|',
    ...r.logits.map(
      (x) =>
        `| ${x.model} | ${x.cache} | ${x.variant} | ${x.positions ?? '-'} | ${fmt(x.maxRelError)} | ${fmt(x.meanRelError)} | ${x.argmaxAgreement?.toFixed(3) ?? '-'} | ${fmt(x.target, 0)} | ${verdict(x)} | ${fmt(x.maxRelErrorVsCpuFloat16)} | ${x.argmaxAgreementVsCpuFloat16?.toFixed(3) ?? '-'} |`,
    ),
    '',
    '## int4 weights (MatMulNBits) on the GPU provider',
    '',
    'Linear layers in blockwise asymmetric int4 (block 32), embeddings / norms / lm head float; full-precision cache. The GPU sessions are created with CPU fallback disabled (providers.ts), so "ok" means every node runs on the GPU provider. Reference: the same int4 graph on the CPU in float32.',
    '',
    '| model | run | positions | max rel. error | mean rel. error | argmax agreement | target | verdict |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...r.int4.map((x) => `| ${x.model} | ${x.variant} | ${x.positions ?? '-'} | ${fmt(x.maxRelError)} | ${fmt(x.meanRelError)} | ${x.argmaxAgreement?.toFixed(3) ?? '-'} | ${fmt(x.target, 0)} | ${verdict(x)} |`),
    '',
    '## Perplexity through evaluate() (ppl-decode)',
    '',
    `TinyStories (bundled valid-a.txt), first ${s.pplDocs} documents with at least prompt + 2 tokens, prompt ${s.pplPrompt}, up to ${s.pplTokens} tokens each; the quantized cache is K4V2 packed with residual ${s.pplResidual}, the full-precision cache runs alongside (perplexityFp). float16 runs go through runEvaluation with both sessions opened in float16. Relative difference = |ppl - ppl(cpu/float32)| / ppl(cpu/float32); the verdict takes the larger of the two (quantized, full precision).`,
    '',
    '| model | run | perplexity (K4V2) | perplexity (fp cache) | KL (nats/token) | scored tokens | rel. diff K4V2 | rel. diff fp | target | verdict |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.perplexity.map(
      (x) =>
        `| ${x.model} | ${x.variant} | ${x.perplexity?.toFixed(4) ?? '-'} | ${x.perplexityFp?.toFixed(4) ?? '-'} | ${x.kl?.toExponential(3) ?? '-'} | ${x.scoredTokens ?? '-'} | ${fmt(x.relDiffVsCpu)} | ${fmt(x.relDiffFpVsCpu)} | ${fmt(x.target, 0)} | ${verdict(x)} |`,
    ),
    '',
    '## Reserved rows (kvRows reserve) on the GPU',
    '',
    "The cache with rows reserved ahead against the same provider, dtype and cache with exact rows: GroupQueryAttention reads a right-padded past (for the packed cache: the dequantized history with the residual laid over its spare rows), the reserve graph (Pad) grows the tensors on the device, and the packed cache's flushes write into the history's spare rows.",
    '',
    '| model | cache | run | reference | positions | max rel. error | mean rel. error | argmax agreement | target | verdict | note |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---|---|',
    ...r.reserve.map(
      (x) =>
        `| ${x.model} | ${x.cache} | ${x.variant} | ${x.reference} | ${x.positions ?? '-'} | ${fmt(x.maxRelError)} | ${fmt(x.meanRelError)} | ${x.argmaxAgreement?.toFixed(3) ?? '-'} | ${fmt(x.target, 0)} | ${verdict(x)} | ${x.status === 'ok' ? (x.note ?? '') : ''} |`,
    ),
    '',
    '## Sliding window (fused attention) on the GPU',
    '',
    `Models with a sliding window, the window shortened so that the ${s.prompt}-token prompt and the ${s.steps} steps cross it: GroupQueryAttention's local_window_size on the GPU against the CPU's plain ops (float32).`,
    '',
    '| model | run | positions | max rel. error | mean rel. error | argmax agreement | target | verdict |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...r.window.map((x) => `| ${x.model} | ${x.variant} | ${x.positions ?? '-'} | ${fmt(x.maxRelError)} | ${fmt(x.meanRelError)} | ${x.argmaxAgreement?.toFixed(3) ?? '-'} | ${fmt(x.target, 0)} | ${verdict(x)} |`),
    '',
    '## The packed history dequantized in float16 arithmetic',
    '',
    "historyArithmetic 'compute' (the GPU default): codes through a float16 table, the fp16 metadata's Mul and Sub in float16, no Cast of the result. One dequantization of fresh values against float64 (target: within two float16 roundings, 2^-10 x (|y| + the group's range)), and the elements that differ from float32 arithmetic rounded once:",
    '',
    '| codec | shape | run | worst error / bound | worst error / group range | differing from float32 arithmetic | verdict |',
    '|---|---|---|---:|---:|---:|---|',
    ...r.dequant.map((x) => `| ${x.codec} | ${x.shape} | ${x.variant} | ${x.worstInBounds?.toFixed(3) ?? '-'} | ${fmt(x.worstOfRange)} | ${x.differing === undefined ? '-' : `${x.differing} of ${x.elements}`} | ${verdict(x)} |`),
    '',
    'Whole runs with the two arithmetics (same provider, float16 graphs; a value that moves across a code boundary in a later layer changes its code):',
    '',
    '| model | cache | run | reference | positions | max rel. error | mean rel. error | argmax agreement | target | verdict |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---|',
    ...r.arithmetic.map((x) => `| ${x.model} | ${x.cache} | ${x.variant} | ${x.reference} | ${x.positions ?? '-'} | ${fmt(x.maxRelError)} | ${fmt(x.meanRelError)} | ${x.argmaxAgreement?.toFixed(3) ?? '-'} | ${fmt(x.target, 0)} | ${verdict(x)} |`),
    '',
    '## Where float16 error comes from on the GPU',
    '',
    "The full-precision cache's float16 logits against the CPU's float32, with one of the graph's float16 sums changed at a time: the prefill's projections (one MatMul summing all terms in float16, or partial sums of N terms), the split-K chunk of one-token projections (the terms each float16 partial sum adds; 0 = one MatMul for prefill and decode), and plain-op attention instead of GroupQueryAttention. Position 1 is the prefill's last token; the decode steps read the keys and values the prefill wrote.",
    '',
    '| model | run | positions | max rel. error | mean rel. error | argmax agreement | target | verdict | note |',
    '|---|---|---:|---:|---:|---:|---:|---|---|',
    ...r.fp16.map((x) => `| ${x.model} | ${x.variant} | ${x.positions ?? '-'} | ${fmt(x.maxRelError)} | ${fmt(x.meanRelError)} | ${x.argmaxAgreement?.toFixed(3) ?? '-'} | ${fmt(x.target, 0)} | ${verdict(x)} | ${x.note ?? ''} |`),
    '',
  ];
  return lines.join('\n');
}

if (/consistency\.ts$/.test(process.argv[1] ?? '')) {
  consistencyMain(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
