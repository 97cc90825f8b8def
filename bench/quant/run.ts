// Benchmark of the KV quantizers on one [1, 8, 4096, 128] fp32 tensor (16 MiB): quantize+pack and
// unpack+dequantize, in TypeScript and in ONNX Runtime (CPU provider), next to a plain copy of the same
// bytes measured in the same run (an ORT Identity graph for the ONNX path, Float32Array.set for TS).
// Median of several runs; ratios against the copy. Targets: ONNX quantize+pack <= 4x copy,
// unpack+dequantize <= 3x copy.
//
//   npm run bench:quant                      # prints the table
//   npm run bench:quant -- --out bench/results/quant.md --runs 9
//   npm run bench:quant -- --extra           # also HQQ and the library-faithful layouts (ONNX + TS)
//   npm run bench:quant -- --ep webgpu --skip-ts   # on a GPU machine
//   npm run bench:quant -- --chunks 8        # CPU: process heads in chunks (EmitOptions.headChunks)
//   npm run bench:quant -- --assume-finite   # without the NaN/Inf guards (EmitOptions.assumeFinite)

import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import * as ort from 'onnxruntime-node';
import { quantizerConfig, type QuantizerConfig } from '../../packages/quant/src/config';
import { dequantize, quantize, unpack } from '../../packages/quant/src/index';
import { emitQuantizePack, emitUnpackDequantize, quantizedFormat } from '../../packages/quant/src/onnx/index';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    out: { type: 'string' },
    extra: { type: 'boolean', default: false },
    threads: { type: 'string' },
    ep: { type: 'string', default: 'cpu' },
    'skip-ts': { type: 'boolean', default: false },
    pack: { type: 'string', default: 'scaled' },
    unpack: { type: 'string', default: 'arithmetic' },
    chunks: { type: 'string', default: '1' },
    'assume-finite': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const PACK = args.pack as 'split' | 'scaled';
const UNPACK = args.unpack as 'table' | 'arithmetic';
const CHUNKS = Number(args.chunks);
const SHAPE = [1, 8, 4096, 128] as const;
const N = SHAPE.reduce((a: number, b: number) => a * b, 1);
const sessionOptions: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: 'all',
  executionProviders: [args.ep!],
  // A node that silently runs on the CPU inside a GPU graph would make the numbers meaningless.
  ...(args.ep === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
  ...(args.threads ? { intraOpNumThreads: Number(args.threads) } : {}),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time in ms of `fn` over RUNS runs after two warm-ups. */
async function time(fn: () => unknown | Promise<unknown>, runs = RUNS): Promise<number> {
  await fn();
  await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function kvLike(): Float32Array {
  const x = new Float32Array(N);
  let s = 12345;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < N; i++) x[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) * (i % 128 === 7 ? 20 : 1);
  return x;
}

async function sessionOf(g: GraphBuilder): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model, sessionOptions);
}

/** The copy baselines, timed right before each row so that both see the same machine state. */
class CopyBaseline {
  private session?: ort.InferenceSession;
  private readonly dst = new Float32Array(N);
  constructor(private readonly x: Float32Array) {}
  async times(runs = RUNS): Promise<{ ort: number; ts: number }> {
    if (!this.session) {
      const g = new GraphBuilder('copy');
      g.input('x', 'float32', [...SHAPE]);
      g.output(g.op('Identity', [{ name: 'x' }], {}, { names: ['y'] }), 'y', 'float32', [...SHAPE]);
      this.session = await sessionOf(g);
    }
    const feed = { x: new ort.Tensor('float32', this.x, [...SHAPE]) };
    const s = this.session;
    return { ort: await time(() => s.run(feed), runs), ts: await time(() => this.dst.set(this.x), runs) };
  }
}

interface Row {
  label: string;
  tsQuant: number;
  tsDequant: number;
  onnxQuant: number;
  onnxDequant: number;
  bytes: number;
  /** Codes differing from TS (0 on the CPU provider; near-ties on GPUs). */
  mismatches: number;
  /** The copy baselines timed just before this row. */
  copyOrt: number;
  copyTs: number;
}

async function measure(cfg: QuantizerConfig, x: Float32Array, copyBaseline: CopyBaseline, runs = RUNS): Promise<Row> {
  const copy = await copyBaseline.times();
  const dims = { batch: SHAPE[0], heads: SHAPE[1], seq: SHAPE[2], headDim: SHAPE[3] };
  const opts = { headDim: SHAPE[3], batch: SHAPE[0], heads: SHAPE[1], headChunks: cfg.axis === 'per-token' || cfg.axis === 'per-channel' ? CHUNKS : 1, assumeFinite: args['assume-finite'] };
  const fmt = quantizedFormat(cfg, dims);

  const skipTs = args['skip-ts'];
  const tsQuant = skipTs ? NaN : await time(() => quantize(x, SHAPE, cfg), runs);
  const qt = quantize(x, SHAPE, cfg);
  const tsDequant = skipTs ? NaN : await time(() => dequantize(qt), runs);

  const gq = new GraphBuilder('quantize');
  const q = emitQuantizePack(gq, gq.input('x', 'float32', [...SHAPE]), cfg, { ...opts, pack: PACK, names: { codes: 'codes', scales: 'scales', zeros: 'zeros' } });
  gq.output(q.codes, 'codes', 'uint8', fmt.codes.shape);
  gq.output(q.scales, 'scales', fmt.scales.dtype, fmt.scales.shape);
  gq.output(q.zeros, 'zeros', fmt.zeros.dtype, fmt.zeros.shape);
  const sq = await sessionOf(gq);
  const xFeed = { x: new ort.Tensor('float32', x, [...SHAPE]) };
  const onnxQuant = await time(() => sq.run(xFeed), runs);
  const packed = await sq.run(xFeed);
  await sq.release();

  const gd = new GraphBuilder('dequantize');
  const inputs = {
    codes: gd.input('codes', 'uint8', fmt.codes.shape),
    scales: gd.input('scales', fmt.scales.dtype, fmt.scales.shape),
    zeros: gd.input('zeros', fmt.zeros.dtype, fmt.zeros.shape),
  };
  gd.output(emitUnpackDequantize(gd, inputs, cfg, { ...opts, unpack: UNPACK, names: { output: 'y' } }), 'y', 'float32', [...SHAPE]);
  const sd = await sessionOf(gd);
  const dFeed = { codes: packed.codes, scales: packed.scales, zeros: packed.zeros };
  const onnxDequant = await time(() => sd.run(dFeed), runs);
  // Sanity: the graph reproduces the TS bytes and values (a benchmark of wrong output is worthless).
  const tsBytes = qt.codes;
  const graphBytes = packed.codes.data as Uint8Array;
  let mismatches = 0;
  if (!Buffer.from(tsBytes).equals(Buffer.from(graphBytes))) {
    // On GPUs fp32 division is not correctly rounded (WGSL allows 2.5 ulp): codes may differ at near-ties.
    const a = unpack(tsBytes, cfg.bits, N);
    const b = unpack(graphBytes, cfg.bits, N);
    for (let i = 0; i < N; i++) if (a[i] !== b[i]) mismatches++;
    if (args.ep === 'cpu' || mismatches > N * 1e-4) throw new Error(`${describe(cfg)}: ${mismatches} ONNX codes differ from TS`);
  }
  await sd.release();
  const bytes = tsBytes.length + 2 * qt.scales.length * (cfg.metaDtype === 'fp32' ? 4 : 2);
  return { label: describe(cfg), tsQuant, tsDequant, onnxQuant, onnxDequant, bytes, mismatches, copyOrt: copy.ort, copyTs: copy.ts };
}

function describe(c: QuantizerConfig): string {
  return `${c.backend}${c.backend === 'hqq' ? `-${c.hqqMode}` : ''} ${c.axis} b=${c.bits} G=${c.groupSize}`;
}

const f1 = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(v < 10 ? 2 : 1));
const fx = (v: number) => (Number.isNaN(v) ? '-' : `${v.toFixed(2)}x`);

async function main(): Promise<void> {
  const x = kvLike();
  const lines: string[] = [];
  const log = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  const copyBaseline = new CopyBaseline(x);
  await copyBaseline.times(); // warm the copy path once before the first row
  const rows: Row[] = [];
  for (const axis of ['per-token', 'per-channel'] as const)
    for (const groupSize of [64, 128])
      for (const bits of [2, 3, 4, 8]) {
        rows.push(await measure(quantizerConfig({ backend: 'quanto', axis, groupSize, bits, metaDtype: 'fp16' }), x, copyBaseline));
        process.stderr.write('.');
      }
  const extra: Row[] = [];
  if (args.extra) {
    const few = Math.max(3, Math.min(RUNS, 3));
    for (const c of [
      { backend: 'quanto', axis: 'quanto-per-channel', groupSize: 64, bits: 4 },
      { backend: 'quanto', axis: 'hqq-per-channel', groupSize: 64, bits: 4 },
      { backend: 'hqq', hqqMode: 'faithful', axis: 'per-token', groupSize: 64, bits: 4 },
      { backend: 'hqq', hqqMode: 'clean', axis: 'per-token', groupSize: 64, bits: 4 },
    ] as const) {
      extra.push(await measure(quantizerConfig({ metaDtype: 'fp16', ...c }), x, copyBaseline, few));
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  const all = [...rows, ...extra];
  const copyRange = (pick: (r: Row) => number) => `${f1(Math.min(...all.map(pick)))}-${f1(Math.max(...all.map(pick)))}`;

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  log(`# Quantizer benchmark: [${SHAPE.join(', ')}] fp32 (${(N * 4) / 2 ** 20} MiB), metadata fp16`);
  log();
  log(`- date: ${new Date().toISOString()}`);
  log(`- machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; onnxruntime-node ${ort.env.versions?.node ?? ''} ${args.ep} provider, ${args.threads ?? 'default'} intra-op threads, graph optimization 'all'`);
  log(`- command: \`npm run bench:quant -- ${process.argv.slice(2).join(' ')}\``);
  log(`- median of ${RUNS} runs after 2 warm-ups; ONNX packing '${PACK}', unpacking '${UNPACK}'; every ONNX row checked against the TS codes (mismatch column: codes that differ)`);
  log(`- copy of the same 16 MiB, timed right before each row: ORT Identity graph ${copyRange((r) => r.copyOrt)} ms, TS Float32Array.set ${copyRange((r) => r.copyTs)} ms`);
  log(`- ONNX ratios are against that row's ORT Identity copy, TS ratios against its Float32Array.set. Targets: ONNX quantize+pack <= 4x, unpack+dequantize <= 3x.`);
  log(`- head chunks (CPU option headChunks, per-token/per-channel rows): ${CHUNKS}; NaN/Inf guards: ${args['assume-finite'] ? 'off (assumeFinite)' : 'on'}`);
  log();
  log('| config | state bytes | ORT copy ms | TS copy ms | TS quant+pack ms | TS unpack+deq ms | ONNX quant+pack ms | ONNX unpack+deq ms | TS q / copy | TS d / copy | ONNX q / copy | ONNX d / copy | targets | code mismatches |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|');
  const emit = (r: Row, target: boolean) => {
    const q = r.onnxQuant / r.copyOrt;
    const d = r.onnxDequant / r.copyOrt;
    const ok = target ? (q <= 4 && d <= 3 ? 'met' : `${q <= 4 ? '' : 'q '}${d <= 3 ? '' : 'd '}missed`.trim()) : 'n/a';
    log(`| ${r.label} | ${r.bytes} | ${f1(r.copyOrt)} | ${f1(r.copyTs)} | ${f1(r.tsQuant)} | ${f1(r.tsDequant)} | ${f1(r.onnxQuant)} | ${f1(r.onnxDequant)} | ${fx(r.tsQuant / r.copyTs)} | ${fx(r.tsDequant / r.copyTs)} | ${fx(q)} | ${fx(d)} | ${ok} | ${r.mismatches} |`);
  };
  rows.forEach((r) => emit(r, true));
  extra.forEach((r) => emit(r, false));
  if (args.out) writeFileSync(args.out, lines.join('\n') + '\n');
}

await main();
