// One decode step's attention over a packed K4V2 history, by how the graph reads the history, at
// Llama-3.2-1B's attention shape (32 query heads, 8 KV heads, head dim 64) for `layers` layers, each with
// its own history on the GPU (kept there between runs, as the engine keeps its cache):
//   dequant-gqa    the engine's GPU path: unpack through a byte table, scale and offset every element,
//                  lay a residual over the spare rows (Pad, Add), GroupQueryAttention over the result;
//   fp16-gqa       GroupQueryAttention over a float16 past of the same rows (what the fp16 cache costs);
//   codes          scores from the codes: q . k_t = s_t (q . c_t) + z_t sum(q), so the keys are unpacked
//                  and read by one MatMul and never scaled; the values' scales go into the probabilities
//                  (p_t s_t) and their offsets into one [T]-long dot product, so the values are unpacked
//                  and read by one MatMul in chunks of 256 rows (float16 sums of 256 terms, then float32);
//   codes-whole    the same with the values' MatMul summing all T rows at once.
// A chain of as many Add nodes as each graph has kernels is not subtracted: the table is per-step time.
// With --profile, each variant at the last context runs once more with ONNX Runtime's profiler (GPU timestamps
// per kernel) and its operator table follows.
//   node .device/device-entry.mjs packedattn [--ep webgpu] [--layers 16] [--contexts 8192,32768] [--steps 30] [--profile DIR]
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel, float16Bytes, type Value } from '@kvbench/onnx';
import { summarizeProfile } from './decode-profile';

const HEADS = 32;
const KV_HEADS = 8;
const D = 64;
const GROUP = HEADS / KV_HEADS;
const RESIDUAL = 256;
const CHUNK = 256;
const VARIANTS = ['dequant-gqa', 'fp16-gqa', 'codes', 'codes-whole'] as const;
type Variant = (typeof VARIANTS)[number];

function byteTable(g: GraphBuilder, bits: number): Value {
  const per = 8 / bits;
  const values = new Float32Array(256 * per);
  for (let v = 0; v < 256; v++) for (let i = 0; i < per; i++) values[v * per + i] = Math.floor(v / 2 ** (i * bits)) % 2 ** bits;
  return g.initializer(`table${bits}`, { dtype: 'float16', dims: [256, per], data: float16Bytes(values) });
}

/** uint8 [H, T, D*b/8] -> float16 codes [H, T, D]. */
const unpack = (g: GraphBuilder, table: Value, bytes: Value, rows: number) =>
  g.op('Reshape', [g.op('Gather', [table, g.op('Cast', [bytes], { to: 6 })], { axis: 0 }), g.ints([KV_HEADS, rows, D])]);

/** Per layer inputs: names and shapes (all float16 but the codes). */
function layerInputs(variant: Variant, rows: number): { name: string; dtype: 'uint8' | 'float16'; shape: number[] }[] {
  if (variant === 'fp16-gqa') return [{ name: 'k', dtype: 'float16', shape: [1, KV_HEADS, rows, D] }, { name: 'v', dtype: 'float16', shape: [1, KV_HEADS, rows, D] }];
  return [
    { name: 'kc', dtype: 'uint8', shape: [KV_HEADS, rows, D / 2] },
    { name: 'vc', dtype: 'uint8', shape: [KV_HEADS, rows, D / 4] },
    { name: 'ks', dtype: 'float16', shape: [KV_HEADS, rows, 1] },
    { name: 'kz', dtype: 'float16', shape: [KV_HEADS, rows, 1] },
    { name: 'vs', dtype: 'float16', shape: [KV_HEADS, rows, 1] },
    { name: 'vz', dtype: 'float16', shape: [KV_HEADS, rows, 1] },
    { name: 'rk', dtype: 'float16', shape: [1, KV_HEADS, RESIDUAL, D] },
    { name: 'rv', dtype: 'float16', shape: [1, KV_HEADS, RESIDUAL, D] },
  ];
}

function build(variant: Variant, layers: number, rows: number): Uint8Array {
  const g = new GraphBuilder(`packedattn-${variant}`);
  const t4 = byteTable(g, 4);
  const t2 = byteTable(g, 2);
  const qkv = g.input('qkv', 'float16', [1, 1, (HEADS + 2 * KV_HEADS) * D]);
  const seqlens = g.input('seqlens_k', 'int32', [1]);
  const total = g.input('total', 'int32', []);
  const bias = g.input('bias', 'float16', [KV_HEADS, 1, rows + RESIDUAL]); // 0 on valid positions, -inf else
  const pads = g.input('pads', 'int64', [8]);
  let acc: Value | null = null;
  for (let l = 0; l < layers; l++) {
    const x: Record<string, Value> = {};
    for (const t of layerInputs(variant, rows)) x[t.name] = g.input(`${t.name}${l}`, t.dtype, t.shape);
    // A different query per layer (no common subexpressions across layers).
    const qkvL = g.op('Mul', [qkv, g.scalar('float16', 1 + l / 64)]);
    let out: Value;
    if (variant === 'dequant-gqa' || variant === 'fp16-gqa') {
      let k = x.k;
      let v = x.v;
      if (variant === 'dequant-gqa') {
        const dq = (c: Value, table: Value, s: Value, z: Value, r: Value) => {
          const y = g.op('Unsqueeze', [g.op('Add', [g.op('Mul', [unpack(g, table, c, rows), s]), z]), g.ints([0])]);
          return g.op('Add', [y, g.op('Pad', [r, pads])]);
        };
        k = dq(x.kc, t4, x.ks, x.kz, x.rk);
        v = dq(x.vc, t2, x.vs, x.vz, x.rv);
      }
      [out] = g.opN('GroupQueryAttention', [qkvL, null, null, k, v, seqlens, total], 3, { num_heads: HEADS, kv_num_heads: KV_HEADS, scale: 1 / Math.sqrt(D) }, { domain: 'com.microsoft' });
      out = g.op('Reshape', [out, g.ints([HEADS * D])]);
    } else {
      const [qFlat] = g.opN('Split', [g.op('Reshape', [qkvL, g.ints([-1])]), g.ints([HEADS * D, 2 * KV_HEADS * D])], 2, { axis: 0 });
      const q = g.op('Mul', [g.op('Reshape', [qFlat, g.ints([KV_HEADS, GROUP, D])]), g.scalar('float16', 1 / Math.sqrt(D))]); // [H, g, D]
      const qT = g.op('Transpose', [q], { perm: [0, 2, 1] }); // [H, D, g]
      const qTotal = g.op('Transpose', [g.op('ReduceSum', [q, g.ints([2])], { keepdims: 1 })], { perm: [0, 2, 1] }); // [H, 1, g]
      const kCodes = unpack(g, t4, x.kc, rows); // [H, T, D]
      const histScores = g.op('Add', [g.op('Mul', [g.op('MatMul', [kCodes, qT]), x.ks]), g.op('Mul', [x.kz, qTotal])]); // [H, T, g]
      const resScores = g.op('MatMul', [g.op('Squeeze', [x.rk, g.ints([0])]), qT]); // [H, R, g]
      const scores = g.op('Add', [g.op('Transpose', [g.op('Concat', [histScores, resScores], { axis: 1 })], { perm: [0, 2, 1] }), bias]); // [H, g, T+R]
      const probs = g.op('Softmax', [scores], { axis: -1 });
      const pHist = g.op('Slice', [probs, g.ints([0]), g.ints([rows]), g.ints([2])]); // [H, g, T]
      const pRes = g.op('Slice', [probs, g.ints([rows]), g.ints([rows + RESIDUAL]), g.ints([2])]);
      const vCodes = unpack(g, t2, x.vc, rows); // [H, T, D]
      const weighted = g.op('Mul', [pHist, g.op('Transpose', [x.vs], { perm: [0, 2, 1] })]); // p_t s_t
      let hist: Value;
      if (variant === 'codes') {
        const n = rows / CHUNK;
        const pChunks = g.op('Transpose', [g.op('Reshape', [weighted, g.ints([KV_HEADS, GROUP, n, CHUNK])])], { perm: [0, 2, 1, 3] }); // [H, n, g, C]
        const partial = g.op('MatMul', [pChunks, g.op('Reshape', [vCodes, g.ints([KV_HEADS, n, CHUNK, D])])]); // [H, n, g, D]
        hist = g.op('ReduceSum', [g.op('Cast', [partial], { to: 1 }), g.ints([1])], { keepdims: 0 }); // [H, g, D] float32
      } else {
        hist = g.op('Cast', [g.op('MatMul', [weighted, vCodes])], { to: 1 });
      }
      const offsets = g.op('MatMul', [g.op('Cast', [pHist], { to: 1 }), g.op('Cast', [x.vz], { to: 1 })]); // [H, g, 1]
      const res = g.op('Cast', [g.op('MatMul', [pRes, g.op('Squeeze', [x.rv, g.ints([0])])])], { to: 1 });
      out = g.op('Reshape', [g.op('Cast', [g.op('Add', [g.op('Add', [hist, offsets]), res])], { to: 10 }), g.ints([HEADS * D])]);
    }
    acc = acc ? g.op('Add', [acc, out]) : out;
  }
  g.output(g.op('Cast', [acc!], { to: 1 }), 'y', 'float32', [HEADS * D]);
  return encodeModel(g, { opset: 21 }).model;
}

function random16(n: number, seed: number, scale: number, offset = 0): Uint16Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + (s / 2 ** 32 - 0.5) * scale;
  }
  return new Uint16Array(float16Bytes(out).buffer);
}

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) out[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Uploads `t` once and returns it as a GPU tensor (an Identity-like graph with its output on the device). */
async function toDevice(t: ort.Tensor, ep: string): Promise<ort.Tensor> {
  if (ep === 'cpu') return t;
  const g = new GraphBuilder('upload');
  const dtype = t.type as 'uint8' | 'float16';
  const x = g.input('x', dtype, [...t.dims]);
  g.output(g.op('Reshape', [x, g.ints([...t.dims])]), 'y', dtype, [...t.dims]);
  const s = await ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model, { executionProviders: [ep], preferredOutputLocation: 'gpu-buffer' });
  const { y } = await s.run({ x: t });
  return y;
}

export async function packedAttentionProbeMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ep: { type: 'string', default: 'webgpu' }, layers: { type: 'string', default: '16' }, contexts: { type: 'string', default: '8192,32768' }, steps: { type: 'string', default: '30' }, variants: { type: 'string', default: VARIANTS.join(',') }, profile: { type: 'string' } },
  });
  const ep = values.ep!;
  const layers = Number(values.layers);
  const steps = Number(values.steps);
  const variants = values.variants!.split(',') as Variant[];
  const contexts = values.contexts!.split(',').map(Number);
  const profiles: string[] = [];
  if (values.profile) mkdirSync(values.profile, { recursive: true });
  const rowsTable = ['| context | variant | step (ms) | ratio to dequant-gqa | y[0..2] |', '|---:|---|---:|---:|---|'];
  for (const context of contexts) {
    // History rows reserved ahead (multiples of 256); the history's tokens end 512 short of them, the residual
    // (256) follows, then spare rows, as the engine's reserved rows.
    const rows = context;
    const tokens = rows - 2 * CHUNK;
    let base = NaN;
    for (const variant of variants) {
     for (const profiled of values.profile && context === contexts.at(-1) ? [false, true] : [false]) {
      const options: ort.InferenceSession.SessionOptions = { executionProviders: [ep === 'webgpu' ? ({ name: 'webgpu', storageBufferCacheMode: 'simple' } as never) : ep], ...(ep === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }) };
      if (profiled) Object.assign(options, { enableProfiling: true, profileFilePrefix: `${values.profile}/${variant}` });
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(build(variant, layers, rows), options);
      } catch (error) {
        rowsTable.push(`| ${context} | ${variant} | failed: ${(error as Error).message.split('\n')[0].slice(0, 160)} | | |`);
        continue;
      }
      const feeds: Record<string, ort.Tensor> = {
        qkv: new ort.Tensor('float16', random16((HEADS + 2 * KV_HEADS) * D, 7, 2), [1, 1, (HEADS + 2 * KV_HEADS) * D]),
        seqlens_k: new ort.Tensor('int32', Int32Array.from([tokens + RESIDUAL]), [1]),
        total: new ort.Tensor('int32', Int32Array.from([tokens + RESIDUAL + 1]), []),
        pads: new ort.Tensor('int64', BigInt64Array.from([0, 0, BigInt(tokens), 0, 0, 0, BigInt(rows - tokens - RESIDUAL), 0].map(BigInt)), [8]),
      };
      const bias = new Float32Array(KV_HEADS * (rows + RESIDUAL));
      for (let h = 0; h < KV_HEADS; h++) for (let t = tokens; t < rows; t++) bias[h * (rows + RESIDUAL) + t] = -Infinity;
      feeds.bias = await toDevice(new ort.Tensor('float16', new Uint16Array(float16Bytes(bias).buffer), [KV_HEADS, 1, rows + RESIDUAL]), ep);
      for (let l = 0; l < layers; l++) {
        for (const t of layerInputs(variant, rows)) {
          const n = t.shape.reduce((a, b) => a * b, 1);
          const seed = 1000 * l + t.name.charCodeAt(0) * 7 + t.name.length;
          const data = t.dtype === 'uint8' ? randomBytes(n, seed) : t.name.endsWith('s') ? random16(n, seed, 0.02, 0.05) : random16(n, seed, 1);
          feeds[`${t.name}${l}`] = await toDevice(new ort.Tensor(t.dtype, data as never, t.shape), ep);
        }
      }
      const times: number[] = [];
      let y: Float32Array = new Float32Array(0);
      for (let i = 0; i < steps + 5; i++) {
        const t0 = performance.now();
        const out = await session.run(feeds);
        y = out.y.data as Float32Array;
        if (i >= 5) times.push(performance.now() - t0);
      }
      const ms = median(times);
      if (profiled) {
        await session.release(); // writes the profile file
        const file = readdirSync(values.profile!).filter((f) => f.startsWith(variant) && f.endsWith('.json')).sort().pop()!;
        const summary = summarizeProfile(JSON.parse(readFileSync(join(values.profile!, file), 'utf8')), steps);
        profiles.push(`## Profile: ${variant}, context ${context} (profiling on: median step ${ms.toFixed(2)} ms)\n\n${summary.rows.join('\n')}\n`);
        continue;
      }
      if (variant === 'dequant-gqa') base = ms;
      rowsTable.push(`| ${context} | ${variant} | ${ms.toFixed(2)} | ${(ms / base).toFixed(2)} | ${Array.from(y.slice(0, 3), (v) => v.toPrecision(4)).join(', ')} |`);
      console.error(rowsTable.at(-1));
      await session.release();
     }
    }
  }
  console.log(`# Packed-history attention, ${layers} layers, ${ep}, median of ${steps} steps\n\n${rowsTable.join('\n')}\n\n${profiles.join('\n')}`);
}
