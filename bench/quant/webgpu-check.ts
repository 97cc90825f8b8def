// Runs the in-graph quantizers on an execution provider other than the CPU (WebGPU by default) with CPU
// fallback disabled, and compares codes, metadata and dequantized values with the TypeScript quantizer.
// Meant for the GPU machine (bundle with esbuild, onnxruntime-node external); prints one line per case.
//
//   tsx bench/quant/webgpu-check.ts [--ep webgpu]

import { parseArgs } from 'node:util';
import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import * as ort from 'onnxruntime-node';
import { quantizerConfig, type GroupAxis, type HqqMode, type QuantBackend } from '../../packages/quant/src/config';
import { dequantize, quantize, roundFp16, unpack } from '../../packages/quant/src/index';
import { emitQuantizePack, emitUnpackDequantize, metaFromBoundary, quantizedFormat } from '../../packages/quant/src/onnx/index';
import { toFloat16Bits } from '@kvbench/onnx';

const { values: args } = parseArgs({ options: { ep: { type: 'string', default: 'webgpu' } } });
const options: ort.InferenceSession.SessionOptions = {
  executionProviders: [args.ep!],
  ...(args.ep === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
};

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const r = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) * (i % 16 === 3 ? 10 : 1);
  return x;
}

interface Case {
  backend: QuantBackend;
  axis: GroupAxis;
  bits: number;
  hqqMode: HqqMode;
  fp16: boolean;
}

async function check(c: Case): Promise<string> {
  const shape = [1, 4, 64, 64] as const;
  const cfg = quantizerConfig({ backend: c.backend, axis: c.axis, bits: c.bits, groupSize: 32, metaDtype: c.fp16 ? 'fp16' : 'bf16', hqqMode: c.hqqMode });
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  let x = randn(n, c.bits * 7 + c.axis.length);
  if (c.fp16) x = x.map(roundFp16);
  const fmt = quantizedFormat(cfg, { batch: 1, heads: 4, seq: 64, headDim: 64 });
  const dt = c.fp16 ? 'float16' : 'float32';
  const opts = { headDim: 64, batch: 1, heads: 4, computeDtype: dt } as const;
  const g = new GraphBuilder('check');
  const q = emitQuantizePack(g, g.input('x', dt, [...shape]), cfg, { ...opts, names: { codes: 'codes', scales: 'scales', zeros: 'zeros' } });
  g.output(q.codes, 'codes', 'uint8', fmt.codes.shape);
  g.output(q.scales, 'scales', fmt.scales.dtype, fmt.scales.shape);
  g.output(q.zeros, 'zeros', fmt.zeros.dtype, fmt.zeros.shape);
  g.output(emitUnpackDequantize(g, q, cfg, { ...opts, names: { output: 'y' }, unpack: c.bits === 4 ? 'table' : 'arithmetic', pack: c.bits === 3 ? 'split' : 'scaled' }), 'y', dt, [...shape]);
  const s = await ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model, options);
  const input = c.fp16 ? new ort.Tensor('float16', Uint16Array.from(x, toFloat16Bits), [...shape]) : new ort.Tensor('float32', x, [...shape]);
  const out = await s.run({ x: input });
  await s.release();
  const ts = quantize(x, shape, cfg);
  const a = unpack(out.codes.data as Uint8Array, cfg.bits, n);
  const b = unpack(ts.codes, cfg.bits, n);
  let codeDiff = 0;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) codeDiff++;
  const scales = metaFromBoundary(out.scales.data as Float32Array | Uint16Array, cfg.metaDtype);
  const zeros = metaFromBoundary(out.zeros.data as Float32Array | Uint16Array, cfg.metaDtype);
  let metaDiff = 0;
  for (let k = 0; k < scales.length; k++) if (scales[k] !== ts.scales[k] || zeros[k] !== ts.zeros[k]) metaDiff++;
  const y = c.fp16 ? metaFromBoundary(out.y.data as Uint16Array, 'fp16') : (out.y.data as Float32Array);
  const ref = dequantize(ts);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i] - (c.fp16 ? roundFp16(ref[i]) : ref[i])));
  const ok = codeDiff === 0 && metaDiff === 0 && worst === 0;
  return `${ok ? 'OK  ' : 'DIFF'} ${c.backend}${c.backend === 'hqq' ? '-' + c.hqqMode : ''} ${c.axis} b=${c.bits} ${dt}: code mismatches ${codeDiff}/${n}, metadata mismatches ${metaDiff}/${scales.length}, max |y - y_ts| ${worst}`;
}

const cases: Case[] = [];
for (const axis of ['per-token', 'per-channel', 'quanto-per-channel', 'hqq-per-channel'] as GroupAxis[])
  for (const bits of [1, 3, 4, 8]) {
    cases.push({ backend: 'quanto', axis, bits, hqqMode: 'faithful', fp16: bits % 2 === 0 });
    if (bits === 3 || bits === 4) cases.push({ backend: 'hqq', axis, bits, hqqMode: bits === 3 ? 'faithful' : 'clean', fp16: bits === 3 });
  }
let failed = 0;
for (const c of cases) {
  try {
    const line = await check(c);
    if (!line.startsWith('OK')) failed++;
    console.log(line);
  } catch (e) {
    failed++;
    console.log(`FAIL ${c.backend} ${c.axis} b=${c.bits}: ${(e as Error).message.split('\n')[0]}`);
    if (args.ep !== 'cpu') {
      // Let the session fall back and log the placement (verbose) to name the nodes the provider refused.
      console.log(`---- placement of ${c.backend} ${c.axis} b=${c.bits}`);
      Object.assign(options, { extra: {}, logSeverityLevel: 0, logVerbosityLevel: 0 });
      try {
        await check(c);
      } catch {
        /* reported above */
      }
      Object.assign(options, { extra: { session: { disable_cpu_ep_fallback: '1' } }, logSeverityLevel: 2 });
    }
  }
}
console.log(`${cases.length - failed}/${cases.length} cases identical to TypeScript on ${args.ep}`);
