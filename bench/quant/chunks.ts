// Interleaved A/B timing of head chunking (EmitOptions.headChunks) on the CPU provider, for choosing
// its default: `tsx bench/quant/chunks.ts [--threads 2]`.
import { parseArgs } from 'node:util';
import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import * as ort from 'onnxruntime-node';
import { quantizerConfig } from '../../packages/quant/src/config';
import { emitQuantizePack, emitUnpackDequantize, quantizedFormat } from '../../packages/quant/src/onnx/index';

const { values: args } = parseArgs({ options: { threads: { type: 'string' }, runs: { type: 'string', default: '15' } } });
const SHAPE = [1, 8, 4096, 128];
const N = SHAPE.reduce((a, b) => a * b, 1);
const x = new Float32Array(N).map((_, i) => Math.sin(i * 0.731) * 2 + Math.cos(i * 0.13));
const so: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...(args.threads ? { intraOpNumThreads: Number(args.threads) } : {}) };
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

for (const [axis, bits] of [['per-token', 4], ['per-token', 3], ['per-channel', 2]] as const) {
  const cfg = quantizerConfig({ backend: 'quanto', axis, bits, groupSize: 64, metaDtype: 'fp16' });
  const fmt = quantizedFormat(cfg, { batch: 1, heads: 8, seq: 4096, headDim: 128 });
  const sessions: Record<string, { q: ort.InferenceSession; d: ort.InferenceSession }> = {};
  for (const k of [1, 2, 4, 8]) {
    const opts = { headDim: 128, batch: 1, heads: 8, headChunks: k };
    const gq = new GraphBuilder('q');
    const q = emitQuantizePack(gq, gq.input('x', 'float32', SHAPE), cfg, { ...opts, names: { codes: 'codes', scales: 'scales', zeros: 'zeros' } });
    gq.output(q.codes, 'codes', 'uint8', fmt.codes.shape);
    gq.output(q.scales, 'scales', 'float16', fmt.scales.shape);
    gq.output(q.zeros, 'zeros', 'float16', fmt.zeros.shape);
    const gd = new GraphBuilder('d');
    const y = emitUnpackDequantize(gd, { codes: gd.input('codes', 'uint8', fmt.codes.shape), scales: gd.input('scales', 'float16', fmt.scales.shape), zeros: gd.input('zeros', 'float16', fmt.zeros.shape) }, cfg, { ...opts, names: { output: 'y' } });
    gd.output(y, 'y', 'float32', SHAPE);
    sessions[k] = { q: await ort.InferenceSession.create(encodeModel(gq).model, so), d: await ort.InferenceSession.create(encodeModel(gd).model, so) };
  }
  const feed = { x: new ort.Tensor('float32', x, SHAPE) };
  const packed = await sessions[1].q.run(feed);
  const times: Record<string, { q: number[]; d: number[] }> = {};
  for (let r = 0; r < Number(args.runs) + 2; r++) {
    for (const k of Object.keys(sessions)) {
      times[k] ??= { q: [], d: [] };
      let t = performance.now();
      const out = await sessions[k].q.run(feed);
      const tq = performance.now() - t;
      if (r === 0 && !Buffer.from(out.codes.data as Uint8Array).equals(Buffer.from(packed.codes.data as Uint8Array))) throw new Error(`chunks ${k}: bytes differ`);
      t = performance.now();
      await sessions[k].d.run({ codes: packed.codes, scales: packed.scales, zeros: packed.zeros });
      const td = performance.now() - t;
      if (r >= 2) {
        times[k].q.push(tq);
        times[k].d.push(td);
      }
    }
  }
  console.log(`${axis} b=${bits}: ` + Object.entries(times).map(([k, t]) => `chunks ${k}: q ${median(t.q).toFixed(1)} d ${median(t.d).toFixed(1)} ms`).join(' | '));
}
