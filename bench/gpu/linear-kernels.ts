// What one decode-step projection (one token, M = 1) costs on a provider, by how the graph writes it:
// Gemm with transB (weights [out, in] as loaded), MatMul on weights stored [in, out], and com.microsoft
// MatMulNBits (int4). Each graph is a chain of `depth` projections alternating Llama-3.2-1B's MLP widths
// (2048 -> 8192 -> 2048 ...), every one with its own weights, so the time is the kernels' and not a cache's;
// a chain of as many Add nodes gives the dispatch floor to subtract.
//   node .device/device-entry.mjs linears [--ep webgpu] [--runs 30] [--depth 8] [--dtype float16]
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel, float16Bytes, tensor as floatData, type TensorData, type Value } from '@kvbench/onnx';
import { quantizeInt4 } from '../../packages/engine/src/graph/int4-weights';
import { splitKProduct } from '../../packages/engine/src/graph/split-k';
import { halfToFloat } from '../../packages/engine/src/model/dtype';

const WIDTHS = [2048, 8192];
type Variant = 'add-floor' | 'gemm-transB' | 'matmul' | 'matmulnbits-int4' | `splitk-${number}` | `splitk-${number}-m1` | `if-splitk-${number}`;
const VARIANTS: Variant[] = ['add-floor', 'gemm-transB', 'matmul', 'matmulnbits-int4', 'splitk-64', 'splitk-128', 'splitk-256', 'splitk-64-m1', 'splitk-128-m1', 'if-splitk-64', 'if-splitk-128'];
/** The if-splitk graphs take a bool `one_token` (fed true): its then branch is splitk-N-m1, its else branch one MatMul. */
const hasCond = (v: Variant) => v.startsWith('if-');

/**
 * x [M, k] W [k, n] as c = k / chunk partial products summed by a second MatMul with a ones row: WebGPU's
 * MatMul accumulates in the tensor type (float16), and one token's projection runs n / 32 workgroups that
 * each walk all of k; chunks give float16 sums of `chunk` terms and c times the workgroups. One token
 * ("-m1", and the If forms) is the engine's own splitKProduct; any M needs a Transpose first.
 */
function splitK(g: GraphBuilder, x: Value, w: Value, k: number, n: number, chunk: number, oneToken: boolean, dtype: 'float16' | 'float32'): Value {
  const c = k / chunk;
  if (oneToken) return splitKProduct(g, x, w, dtype, [c, chunk, n]);
  const chunks = g.op('Transpose', [g.op('Reshape', [x, g.ints([-1, c, chunk])])], { perm: [1, 0, 2] });
  const partial = g.op('MatMul', [chunks, w]); // [c, M, n]
  const summed = g.op('MatMul', [g.constant(dtype, [1, c], new Array<number>(c).fill(1)), g.op('Reshape', [partial, g.ints([c, -1])])]); // [1, M n]
  return g.op('Reshape', [summed, g.ints([-1, n])]);
}

/** Deterministic small values (no Math.random: the table should not move between runs for that reason). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) - 0.5) * 0.05;
  }
  return out;
}

const toFloat16 = (x: Float32Array) => new Uint16Array(float16Bytes(x).buffer);

function chain(variant: Variant, depth: number, dtype: 'float16' | 'float32', start = 0): Uint8Array {
  const g = new GraphBuilder(`linears-${variant}`);
  const tensor = (dims: number[], data: Float32Array): TensorData =>
    dtype === 'float16' ? { dtype: 'float16', dims, data: float16Bytes(data) } : floatData('float32', dims, data);
  let x: Value = g.input('x', dtype, [1, WIDTHS[start % 2]]);
  const oneToken = hasCond(variant) ? g.input('one_token', 'bool', []) : null;
  for (let i = 0; i < depth; i++) {
    const k = WIDTHS[(i + start) % 2];
    const n = WIDTHS[(i + start + 1) % 2];
    const w = values(n * k, i + 1); // [n, k] = [out, in]
    if (variant === 'add-floor') {
      // Same output widths as the projections, no weights: Expand/Slice would add work, so Add a bias row.
      x = g.op('Add', [k === n ? x : g.op('Slice', [g.op('Concat', [x, x, x, x], { axis: 1 }), g.ints([0]), g.ints([n]), g.ints([1])]), g.initializer(`b${i}`, tensor([n], values(n, i + 100)))]);
    } else if (variant === 'gemm-transB') {
      x = g.op('Gemm', [x, g.initializer(`w${i}`, tensor([n, k], w))], { transB: 1 });
    } else if (variant === 'matmul' || variant.includes('splitk-')) {
      const t = new Float32Array(n * k);
      for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) t[c * n + r] = w[r * k + c];
      if (variant === 'matmul') x = g.op('MatMul', [x, g.initializer(`w${i}`, tensor([k, n], t))]);
      else if (oneToken) {
        const chunk = Number(variant.split('-')[2]);
        const w3 = g.initializer(`w${i}`, tensor([k / chunk, chunk, n], t));
        const out = (value: Value) => [{ value, dtype, shape: [1, n] }];
        const xi = x;
        x = g.op('If', [oneToken], {
          then_branch: g.subgraph('split', (b) => out(splitK(b, xi, w3, k, n, chunk, true, dtype))),
          else_branch: g.subgraph('whole', (b) => out(b.op('MatMul', [xi, b.op('Reshape', [w3, b.ints([k, n])])]))),
        });
      } else {
        const chunk = Number(variant.split('-')[1]);
        x = splitK(g, x, g.initializer(`w${i}`, tensor([k / chunk, chunk, n], t)), k, n, chunk, variant.endsWith('-m1'), dtype);
      }
    } else {
      const q = quantizeInt4(w, n, k, 32);
      const packed = g.initializer(`w${i}.q4`, { dtype: 'uint8', dims: [n, q.nBlocks, 16], data: q.packed });
      const scales = g.initializer(`w${i}.scales`, tensor([n * q.nBlocks], q.scales));
      const zeros = g.initializer(`w${i}.zero_points`, { dtype: 'uint8', dims: [q.zeroPoints.length], data: q.zeroPoints });
      x = g.op('MatMulNBits', [x, packed, scales, zeros], { K: k, N: n, bits: 4, block_size: 32, accuracy_level: 0 }, { domain: 'com.microsoft' });
    }
  }
  g.output(x, 'y', dtype, [1, WIDTHS[(depth + start) % 2]]);
  return encodeModel(g, { opset: 21 }).model;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function linearKernelsMain(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: { ep: { type: 'string', default: 'webgpu' }, runs: { type: 'string', default: '30' }, depth: { type: 'string', default: '8' }, dtype: { type: 'string', default: 'float16' } },
  });
  const ep = args.ep!;
  const runs = Number(args.runs);
  const depth = Number(args.depth);
  const dtype = args.dtype as 'float16' | 'float32';
  const bytesPerWeight = dtype === 'float16' ? 2 : 4;
  const weightBytes = (variant: Variant) => {
    const params = Array.from({ length: depth }, (_, i) => WIDTHS[i % 2] * WIDTHS[(i + 1) % 2]).reduce((a, b) => a + b, 0);
    if (variant === 'add-floor') return 0;
    if (variant === 'matmulnbits-int4') return params / 2 + (params / 32) * (bytesPerWeight + 0.5);
    return params * bytesPerWeight;
  };
  const results: { variant: Variant; ms: number }[] = [];
  for (const variant of VARIANTS) {
    // The output comes back to the CPU every run (as a decode step's logits do), so each run includes
    // finishing on the device; the floor graph pays the same readback.
    const options: ort.InferenceSession.SessionOptions =
      ep === 'cpu' ? { executionProviders: ['cpu'] } : { executionProviders: [ep as 'webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(chain(variant, depth, dtype), options);
    } catch (error) {
      console.log(`${variant}: session failed: ${(error as Error).message.slice(0, 200)}`);
      continue;
    }
    const input = values(WIDTHS[0], 7);
    const x = dtype === 'float16' ? new ort.Tensor('float16', toFloat16(input), [1, WIDTHS[0]]) : new ort.Tensor('float32', input, [1, WIDTHS[0]]);
    const feeds: Record<string, ort.Tensor> = { x };
    if (hasCond(variant)) feeds.one_token = new ort.Tensor('bool', [true], []);
    const times: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const t = performance.now();
      await session.run(feeds);
      if (i >= 3) times.push(performance.now() - t);
    }
    await session.release();
    results.push({ variant, ms: median(times) });
  }
  const floor = results.find((r) => r.variant === 'add-floor')?.ms ?? 0;
  const rows = ['| graph | median run (ms) | per projection above the Add floor (µs) | weight bytes read per run (MiB) | effective GB/s |', '|---|---:|---:|---:|---:|'];
  for (const r of results) {
    const per = r.variant === 'add-floor' ? NaN : ((r.ms - floor) / depth) * 1000;
    const bytes = weightBytes(r.variant);
    const gbps = bytes > 0 ? bytes / ((r.ms - floor) / 1000) / 1e9 : NaN;
    rows.push(`| ${depth} x ${r.variant} | ${r.ms.toFixed(3)} | ${Number.isNaN(per) ? '' : per.toFixed(1)} | ${bytes ? (bytes / 2 ** 20).toFixed(1) : ''} | ${Number.isNaN(gbps) ? '' : gbps.toFixed(0)} |`);
  }
  const errors = await projectionErrors(ep, dtype);
  console.log(`# One-token projections on ${ep} (${dtype})\n\nChains of ${depth} projections alternating ${WIDTHS.join(' -> ')} (Llama-3.2-1B's MLP widths), M = 1, median of ${runs} runs after 3 warm-up runs, output read back to the CPU each run.\n\n${rows.join('\n')}\n\n${errors}\n`);
}

const roundHalf = (x: Float32Array) => Float32Array.from(toFloat16(x), halfToFloat);

/**
 * ||y - y_ref|| / ||y_ref|| of one projection per shape and variant, y_ref in float64 from the same
 * (float16-rounded) input and weights; int4 is against its own float weights (its error is the quantizer's).
 */
async function projectionErrors(ep: string, dtype: 'float16' | 'float32'): Promise<string> {
  const rows = ['| projection | graph | relative error vs float64 |', '|---|---|---:|'];
  for (const start of [0, 1]) {
    const k = WIDTHS[start % 2];
    const n = WIDTHS[(start + 1) % 2];
    let input = values(k, 11);
    let w = values(n * k, 1);
    if (dtype === 'float16') [input, w] = [roundHalf(input), roundHalf(w)];
    const ref = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let acc = 0;
      for (let c = 0; c < k; c++) acc += input[c] * w[r * k + c];
      ref[r] = acc;
    }
    for (const variant of VARIANTS.filter((v) => v !== 'add-floor')) {
      const options: ort.InferenceSession.SessionOptions = ep === 'cpu' ? { executionProviders: ['cpu'] } : { executionProviders: [ep as 'webgpu'] };
      try {
        const session = await ort.InferenceSession.create(chain(variant, 1, dtype, start), options);
        const x = dtype === 'float16' ? new ort.Tensor('float16', toFloat16(input), [1, k]) : new ort.Tensor('float32', input, [1, k]);
        const feeds: Record<string, ort.Tensor> = { x };
        if (hasCond(variant)) feeds.one_token = new ort.Tensor('bool', [true], []);
        const out = (await session.run(feeds)).y;
        const y = dtype === 'float16' ? Array.from(out.data as Uint16Array, halfToFloat) : Array.from(out.data as Float32Array);
        let num = 0;
        let den = 0;
        for (let r = 0; r < n; r++) {
          num += (y[r] - ref[r]) ** 2;
          den += ref[r] ** 2;
        }
        rows.push(`| ${k} -> ${n} | ${variant} | ${Math.sqrt(num / den).toExponential(2)} |`);
        await session.release();
      } catch (error) {
        rows.push(`| ${k} -> ${n} | ${variant} | failed: ${(error as Error).message.slice(0, 120)} |`);
      }
    }
  }
  return `One projection, x and W uniform in ±0.025 (the weights of \`values()\`), ${dtype}:\n\n${rows.join('\n')}`;
}
