// Per-op kernel times (ORT profiler) of the quantize+pack and unpack+dequantize graphs of one config on
// the [1, 8, 4096, 128] tensor: `tsx bench/quant/profile.ts per-token 4` (axis, bits; quanto, G 64).
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import * as ort from 'onnxruntime-node';
import { quantizerConfig, type GroupAxis } from '../../packages/quant/src/config';
import { emitQuantizePack, emitUnpackDequantize, quantizedFormat } from '../../packages/quant/src/onnx/index';
mkdirSync('/tmp/prof', { recursive: true });
const SHAPE = [1, 8, 4096, 128];
const axis = (process.argv[2] ?? 'per-token') as GroupAxis;
const bits = Number(process.argv[3] ?? 4);
const cfg = quantizerConfig({ backend: 'quanto', axis, groupSize: 64, bits, metaDtype: 'fp16' });
const fmt = quantizedFormat(cfg, { batch: 1, heads: 8, seq: 4096, headDim: 128 });
const x = new Float32Array(SHAPE.reduce((a, b) => a * b)); for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 3;
const gq = new GraphBuilder('q');
const q = emitQuantizePack(gq, gq.input('x', 'float32', SHAPE), cfg, { headDim: 128 });
gq.output(q.codes, 'codes', 'uint8', fmt.codes.shape); gq.output(q.scales, 'scales', 'float16', fmt.scales.shape); gq.output(q.zeros, 'zeros', 'float16', fmt.zeros.shape);
const gd = new GraphBuilder('d');
gd.output(emitUnpackDequantize(gd, { codes: gd.input('codes', 'uint8', fmt.codes.shape), scales: gd.input('scales', 'float16', fmt.scales.shape), zeros: gd.input('zeros', 'float16', fmt.zeros.shape) }, cfg, { headDim: 128 }), 'y', 'float32', SHAPE);
for (const [name, g] of [['q', gq], ['d', gd]] as const) {
  const s = await ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model, { enableProfiling: true, profileFilePrefix: `/tmp/prof/${name}` });
  const feeds: Record<string, ort.Tensor> = name === 'q' ? { x: new ort.Tensor('float32', x, SHAPE) } : await (async () => { const s0 = await ort.InferenceSession.create(encodeModel(gq, { opset: 21 }).model); const o = await s0.run({ x: new ort.Tensor('float32', x, SHAPE) }); return { codes: o.codes, scales: o.scales, zeros: o.zeros }; })();
  for (let i = 0; i < 6; i++) await s.run(feeds);
  s.endProfiling();
  const file = readdirSync('/tmp/prof').filter((f) => f.startsWith(name + '_') && f.endsWith('.json')).map((f) => `/tmp/prof/${f}`).sort().pop()!;
  interface ProfileEvent {
    cat: string;
    name: string;
    dur: number;
    args: { op_name: string };
  }
  const ev = (JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[]).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const agg = new Map<string, number>();
  for (const e of ev) { const k = `${e.args.op_name} ${e.name.replace('_kernel_time', '')}`; agg.set(k, (agg.get(k) ?? 0) + e.dur / 6); }
  const tot = [...agg.values()].reduce((a, b) => a + b, 0);
  console.log(name, 'total kernel ms', (tot / 1000).toFixed(1));
  for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log('  ', (v / 1000).toFixed(2), k);
}
