import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel } from '@kvbench/onnx';
import { emitTurboMseDecode, emitTurboMseEncode } from '../src/turbo/onnx';
import { emitTurboProdDecode, emitTurboProdEncode } from '../src/turbo/onnx-prod';
import { TurboQuantProd } from '../src/turbo/turbo-prod';
import { TurboQuantMse } from '../src/turbo/turbo-mse';
import { randn } from './turbo-helpers';

// Ops the emitters may use: each was run on WebGPU (H100, CPU fallback disabled) on 2026-11-22.
const ALLOWED_OPS = new Set(['Mul', 'ReduceSum', 'Sqrt', 'Clip', 'Div', 'MatMul', 'Unsqueeze', 'Greater', 'Cast', 'Gather']);

describe('TurboQuant_mse ONNX emitter (CPU provider) vs the TS path', () => {
  for (const [dim, bits, kind] of [[64, 4, 'haar'], [48, 2, 'hadamard'], [128, 3, 'hadamard']] as const) {
    it(`d=${dim}, b=${bits}, ${kind}: same norms, codes (up to float32 boundary ties) and decoded vectors`, async () => {
      const q = new TurboQuantMse(dim, { bits, rotation: { kind, seed: 31 }, normDtype: 'float32' });
      const p = q.rotation.outputDim;
      const g = new GraphBuilder('turbo');
      const x = g.input('x', 'float32', ['rows', dim]);
      // Outputs named at their producers: no Identity nodes (see the WebGPU note in turbo/onnx.ts).
      const { norm, codes } = emitTurboMseEncode(g, x, q, { norm: 'norm', codes: 'codes' });
      g.output(norm, 'norm', 'float32', ['rows', 1]);
      g.output(codes, 'codes', 'uint8', ['rows', p]);
      const codesIn = g.input('codes_in', 'uint8', ['rows', p]);
      const normIn = g.input('norm_in', 'float32', ['rows', 1]);
      g.output(emitTurboMseDecode(g, codesIn, normIn, q, 'decoded'), 'decoded', 'float32', ['rows', dim]);
      for (const n of g.nodes) expect(ALLOWED_OPS.has(n.opType), n.opType).toBe(true);
      const session = await ort.InferenceSession.create(encodeModel(g).model, { executionProviders: ['cpu'] });

      const rows = 200;
      const xs = new Float32Array(rows * dim);
      for (let r = 1; r < rows; r++) {
        const scale = Math.exp(randn()); // row 0 stays the zero vector
        for (let i = 0; i < dim; i++) xs[r * dim + i] = randn() * scale;
      }
      const ts = Array.from({ length: rows }, (_, r) => q.encode(xs.subarray(r * dim, (r + 1) * dim)));
      const tsCodes = new Uint8Array(rows * p);
      const tsNorms = new Float32Array(rows);
      ts.forEach((c, r) => {
        tsCodes.set(c.indices, r * p);
        tsNorms[r] = c.norm;
      });
      const out = await session.run({
        x: new ort.Tensor('float32', xs, [rows, dim]),
        codes_in: new ort.Tensor('uint8', tsCodes, [rows, p]),
        norm_in: new ort.Tensor('float32', tsNorms, [rows, 1]),
      });
      const gotNorm = out.norm.data as Float32Array;
      const gotCodes = out.codes.data as Uint8Array;
      expect(gotNorm[0]).toBe(0);
      for (let r = 0; r < rows; r++) expect(Math.abs(gotNorm[r] - tsNorms[r])).toBeLessThanOrEqual(1e-6 * tsNorms[r]);
      // Codes may differ only where the float64 rotated coordinate sits within float32 noise of a boundary.
      let mismatches = 0;
      for (let r = 1; r < rows; r++) {
        const u = Float64Array.from(xs.subarray(r * dim, (r + 1) * dim), (v) => v / ts[r].norm);
        const y = q.rotation.apply(u);
        for (let j = 0; j < p; j++) {
          if (gotCodes[r * p + j] === tsCodes[r * p + j]) continue;
          mismatches++;
          expect(Math.abs(gotCodes[r * p + j] - tsCodes[r * p + j])).toBe(1);
          const nearest = Math.min(...Array.from(q.codebook.boundaries, (m) => Math.abs(y[j] - m)));
          expect(nearest).toBeLessThan(1e-5);
        }
      }
      expect(mismatches).toBeLessThanOrEqual(Math.ceil(rows * p * 1e-3));
      // Decoding the TS codes in-graph gives the TS decode.
      const decoded = out.decoded.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        const ref = q.decode(ts[r]);
        for (let i = 0; i < dim; i++) expect(Math.abs(decoded[r * dim + i] - ref[i])).toBeLessThanOrEqual(2e-6 * (ts[r].norm + 1e-30) + 1e-30);
      }
      expect(Array.from(decoded.subarray(0, dim)).every((v) => v === 0)).toBe(true);
    });
  }
});

describe('TurboQuant_prod / QJL ONNX emitters (CPU provider) vs the TS path', () => {
  for (const [dim, bits] of [[64, 3], [32, 1]] as const) {
    it(`d=${dim}, b=${bits}: in-graph decode of TS codes equals the TS decode; in-graph encode agrees up to float32 ties`, async () => {
      const q = new TurboQuantProd(dim, { bits, rotation: { kind: 'hadamard', seed: 8 }, qjlSeed: 12, normDtype: 'float32' });
      const g = new GraphBuilder('prod');
      const x = g.input('x', 'float32', ['rows', dim]);
      const enc = emitTurboProdEncode(g, x, q, { norm: 'norm', codes: 'codes', gamma: 'gamma', signs: 'signs' });
      if (enc.norm && enc.codes) {
        g.output(enc.norm, 'norm', 'float32', ['rows', 1]);
        g.output(enc.codes, 'codes', 'uint8', ['rows', dim]);
      }
      g.output(enc.gamma, 'gamma', 'float32', ['rows', 1]);
      g.output(enc.signs, 'signs', 'uint8', ['rows', dim]);
      const signsIn = g.input('signs_in', 'uint8', ['rows', dim]);
      const gammaIn = g.input('gamma_in', 'float32', ['rows', 1]);
      const codesIn = bits > 1 ? g.input('codes_in', 'uint8', ['rows', dim]) : null;
      const normIn = bits > 1 ? g.input('norm_in', 'float32', ['rows', 1]) : null;
      const decoded = emitTurboProdDecode(g, { norm: normIn, codes: codesIn, gamma: gammaIn, signs: signsIn }, q, 'decoded');
      g.output(decoded, 'decoded', 'float32', ['rows', dim]);
      for (const n of g.nodes) expect(ALLOWED_OPS.has(n.opType) || ['Less', 'Sub', 'Add'].includes(n.opType), n.opType).toBe(true);
      const session = await ort.InferenceSession.create(encodeModel(g).model, { executionProviders: ['cpu'] });

      const rows = 100;
      const xs = Float32Array.from({ length: rows * dim }, randn);
      xs.fill(0, 0, dim); // row 0: the zero vector
      const ts = Array.from({ length: rows }, (_, r) => q.encode(xs.subarray(r * dim, (r + 1) * dim)));
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', xs, [rows, dim]),
        signs_in: new ort.Tensor('uint8', Uint8Array.from(ts.flatMap((c) => Array.from(c.qjl.signs, (s) => (s > 0 ? 1 : 0)))), [rows, dim]),
        gamma_in: new ort.Tensor('float32', Float32Array.from(ts.map((c) => c.qjl.gamma)), [rows, 1]),
      };
      if (bits > 1) {
        feeds.codes_in = new ort.Tensor('uint8', Uint8Array.from(ts.flatMap((c) => Array.from(c.mse!.indices))), [rows, dim]);
        feeds.norm_in = new ort.Tensor('float32', Float32Array.from(ts.map((c) => c.mse!.norm)), [rows, 1]);
      }
      const out = await session.run(feeds);
      const dec = out.decoded.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        const ref = q.decode(ts[r]);
        const scale = Math.max(1e-30, Math.sqrt(ref.reduce((s, v) => s + v * v, 0)));
        for (let i = 0; i < dim; i++) expect(Math.abs(dec[r * dim + i] - ref[i])).toBeLessThanOrEqual(2e-6 * scale);
      }
      expect(Array.from(dec.subarray(0, dim)).every((v) => v === 0)).toBe(true);
      // Encode: sign bits computed from a float32 residual may flip where S r is within float32 noise of 0.
      const signs = out.signs.data as Uint8Array;
      let flips = 0;
      for (let r = 1; r < rows; r++) for (let i = 0; i < dim; i++) if (signs[r * dim + i] !== (ts[r].qjl.signs[i] > 0 ? 1 : 0)) flips++;
      expect(flips).toBeLessThanOrEqual(Math.ceil(rows * dim * 2e-3));
      const gamma = out.gamma.data as Float32Array;
      for (let r = 1; r < rows; r++) expect(Math.abs(gamma[r] - ts[r].qjl.gamma)).toBeLessThanOrEqual(1e-4 * ts[r].qjl.gamma + 1e-6);
    });
  }
});
