// What one session.run costs on a GPU provider before any real work: a tiny graph whose output comes back
// to the CPU, the same graph with its output left on the device, and chains of N elementwise nodes
// (per-node dispatch cost). Explains the fixed part of a decode step (bench/results/gpu-summary.md).
//   node .device/device-entry.mjs floor [--ep webgpu] [--runs 50]
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel } from '@kvbench/onnx';

function chain(nodes: number, width: number): Uint8Array {
  const g = new GraphBuilder('floor');
  let x = g.input('x', 'float32', [1, width]);
  for (let i = 0; i < nodes; i++) x = g.op('Add', [x, g.scalar('float32', 1)]);
  g.output(x, 'y', 'float32', [1, width]);
  return encodeModel(g, { opset: 21 }).model;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function dispatchFloorMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ep: { type: 'string', default: 'webgpu' }, runs: { type: 'string', default: '50' } } });
  const ep = values.ep!;
  const runs = Number(values.runs);
  const rows = ['| graph | output | median run (ms) |', '|---|---|---:|'];
  for (const [nodes, width] of [[1, 8192], [100, 2048], [400, 2048]] as const) {
    for (const location of ['cpu', 'gpu-buffer'] as const) {
      const options: ort.InferenceSession.SessionOptions = { executionProviders: [ep], ...(ep === 'cpu' ? {} : { preferredOutputLocation: { y: location }, extra: { session: { disable_cpu_ep_fallback: '1' } } }) };
      if (ep === 'cpu' && location !== 'cpu') continue;
      const session = await ort.InferenceSession.create(chain(nodes, width), options);
      const x = new ort.Tensor('float32', new Float32Array(width), [1, width]);
      const times: number[] = [];
      for (let i = 0; i < runs + 3; i++) {
        const t = performance.now();
        const out = await session.run({ x });
        if (location === 'cpu') void (out.y.data as Float32Array)[0];
        else out.y.dispose();
        if (i >= 3) times.push(performance.now() - t);
      }
      rows.push(`| ${nodes} Add node(s) on [1, ${width}] | ${location} | ${median(times).toFixed(3)} |`);
      await session.release();
    }
  }
  console.log(`# One session.run on ${ep}\n\n${rows.join('\n')}\n`);
}
