// Not a vitest file: runs the TurboQuant_mse and rotation emitters on an execution provider with CPU
// fallback disabled and compares with the float64 TS path. On the GPU machine (see ../shared/device):
//   ../shared/device/pack.sh packages/quant/test/turbo-webgpu-probe.ts
//   device run, carry [".device"]: bash .device/setup.sh && /tmp/n/node .device/turbo-webgpu-probe.mjs --ep webgpu
// Result on an H100 (2026-11-22): every node on WebGPU (MSE and prod graphs), 0 code mismatches in
// 163,840, MSE decode error <= 1.8e-7·ν, prod round trip within 3e-7 relative of the TS path,
// about 3.5 ms per run of 512 vectors.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel } from '@kvbench/onnx';
import { emitTurboMseDecode, emitTurboMseEncode } from '../src/turbo/onnx';
import { emitTurboProdDecode, emitTurboProdEncode } from '../src/turbo/onnx-prod';
import { TurboQuantMse } from '../src/turbo/turbo-mse';
import { TurboQuantProd } from '../src/turbo/turbo-prod';

const args = process.argv.slice(2);
const ep = args.includes('--ep') ? args[args.indexOf('--ep') + 1] : 'cpu';
const randn = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());

async function probe(dim: number, bits: number, kind: 'hadamard' | 'haar'): Promise<Record<string, unknown>> {
  const q = new TurboQuantMse(dim, { bits, rotation: { kind, seed: 31 }, normDtype: 'float32' });
  const p = q.rotation.outputDim;
  const g = new GraphBuilder('turbo');
  const x = g.input('x', 'float32', ['rows', dim]);
  const { norm, codes } = emitTurboMseEncode(g, x, q, { norm: 'norm', codes: 'codes' });
  g.output(norm, 'norm', 'float32', ['rows', 1]);
  g.output(codes, 'codes', 'uint8', ['rows', p]);
  g.output(emitTurboMseDecode(g, codes, norm, q, 'decoded'), 'decoded', 'float32', ['rows', dim]);
  const entry: Record<string, unknown> = { ep, dim, bits, kind };
  try {
    const session = await ort.InferenceSession.create(encodeModel(g).model, {
      executionProviders: [ep as 'cpu'],
      ...(ep === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
    });
    const rows = 512;
    const xs = Float32Array.from({ length: rows * dim }, randn);
    const feeds = { x: new ort.Tensor('float32', xs, [rows, dim]) };
    const out = await session.run(feeds);
    const gotCodes = out.codes.data as Uint8Array;
    const decoded = out.decoded.data as Float32Array;
    let mismatches = 0;
    let decodeError = 0;
    for (let r = 0; r < rows; r++) {
      const c = q.encode(xs.subarray(r * dim, (r + 1) * dim));
      for (let j = 0; j < p; j++) if (c.indices[j] !== gotCodes[r * p + j]) mismatches++;
      const ref = q.decode({ norm: c.norm, indices: gotCodes.subarray(r * p, (r + 1) * p) });
      for (let i = 0; i < dim; i++) decodeError = Math.max(decodeError, Math.abs(ref[i] - decoded[r * dim + i]) / c.norm);
    }
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) await session.run(feeds);
    Object.assign(entry, { ok: true, codes: rows * p, mismatches, decodeError, msPerRun: (performance.now() - t0) / 20 });
  } catch (error) {
    Object.assign(entry, { ok: false, error: String((error as Error).message).slice(0, 300) });
  }
  return entry;
}

async function probeProd(dim: number, bits: number): Promise<Record<string, unknown>> {
  const q = new TurboQuantProd(dim, { bits, rotation: { kind: 'hadamard', seed: 8 }, qjlSeed: 12, normDtype: 'float32' });
  const g = new GraphBuilder('prod');
  const x = g.input('x', 'float32', ['rows', dim]);
  const enc = emitTurboProdEncode(g, x, q, { gamma: 'gamma', signs: 'signs' });
  g.output(enc.gamma, 'gamma', 'float32', ['rows', 1]);
  g.output(enc.signs, 'signs', 'uint8', ['rows', dim]);
  g.output(emitTurboProdDecode(g, enc, q, 'decoded'), 'decoded', 'float32', ['rows', dim]);
  const entry: Record<string, unknown> = { ep, method: 'prod', dim, bits };
  try {
    const session = await ort.InferenceSession.create(encodeModel(g).model, {
      executionProviders: [ep as 'cpu'],
      ...(ep === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
    });
    const rows = 512;
    const xs = Float32Array.from({ length: rows * dim }, randn);
    const out = await session.run({ x: new ort.Tensor('float32', xs, [rows, dim]) });
    const decoded = out.decoded.data as Float32Array;
    let relError = 0;
    for (let r = 0; r < rows; r++) {
      const ref = q.quantize(xs.subarray(r * dim, (r + 1) * dim));
      let num = 0;
      let den = 0;
      for (let i = 0; i < dim; i++) {
        num += (ref[i] - decoded[r * dim + i]) ** 2;
        den += ref[i] ** 2;
      }
      relError = Math.max(relError, Math.sqrt(num / den));
    }
    Object.assign(entry, { ok: true, maxRelDiffVsTs: relError });
  } catch (error) {
    Object.assign(entry, { ok: false, error: String((error as Error).message).slice(0, 300) });
  }
  return entry;
}

for (const [dim, bits, kind] of [[128, 3, 'hadamard'], [64, 4, 'haar'], [96, 2, 'hadamard']] as const) {
  console.log(JSON.stringify(await probe(dim, bits, kind)));
}
for (const [dim, bits] of [[128, 3], [128, 1]] as const) console.log(JSON.stringify(await probeProd(dim, bits)));
