// The in-graph HQQ quantizer (20 unrolled solver steps) against the TypeScript one. The graph sums
// groups exactly enough to take the same solver path, so codes, scales and zeros come out identical;
// the test still tolerates a code that is off by one at a fp32 midpoint (a tie), and nothing else.

import { describe, expect, it } from 'vitest';
import type { GroupAxis, HqqMode, MetaDtype } from '../src/config';
import { dequantize, fakeQuantize, groupLayout, quantize, unpack, type QuantizedTensor } from '../src/index';
import { metaForBoundary } from '../src/onnx/index';
import { config, randomKv, runFakeQuantize, runQuantizePack, runUnpackDequantize, type InputKind, type Shape4 } from './onnx-harness';

interface Case {
  axis: GroupAxis;
  bits: number;
  groupSize: number;
  metaDtype: MetaDtype;
  hqqMode: HqqMode;
  kind: InputKind;
  shape: Shape4;
}

const AXES: GroupAxis[] = ['per-token', 'per-channel', 'quanto-per-channel', 'hqq-per-channel'];
const KINDS: InputKind[] = ['gaussian', 'outliers', 'constant-groups', 'tiny-range', 'grid'];
const META: MetaDtype[] = ['fp32', 'fp16', 'bf16'];
const MODES: HqqMode[] = ['faithful', 'clean'];
const cases: Case[] = [];
// 16 cases: each bits value twice, each layout, mode, metadata dtype and input kind several times.
for (let bits = 1; bits <= 8; bits++) {
  for (const a of [bits % 4, (bits + 2) % 4]) {
    const axis = AXES[a];
    const groupSize = axis === 'per-token' ? [32, 64, 128][(bits + a) % 3] : [16, 32, 64][(bits + a) % 3];
    const shape: Shape4 = axis === 'per-token' ? [1, 2, 16, 64] : axis === 'quanto-per-channel' ? [2, 2, 48, 16] : [1, 2, 64, 16];
    cases.push({ axis, bits, groupSize, metaDtype: META[(bits + a) % 3], hqqMode: MODES[(bits + a) % 2], kind: KINDS[(bits * 3 + a) % 5], shape });
  }
}

const ulp = (v: number, dtype: MetaDtype) => Math.abs(v) * (dtype === 'fp32' ? 2 ** -23 : dtype === 'fp16' ? 2 ** -10 : 2 ** -7) + 1e-30;

describe('ONNX HQQ quantize+pack agrees with TypeScript', () => {
  it.each([
    { hqqMode: 'faithful' as HqqMode, axis: 'per-token' as GroupAxis },
    { hqqMode: 'clean' as HqqMode, axis: 'per-channel' as GroupAxis },
  ])('fake-quantize $hqqMode $axis equals TypeScript fakeQuantize', async ({ hqqMode, axis }) => {
    const shape: Shape4 = [1, 2, 32, 32];
    const cfg = config({ backend: 'hqq', bits: 3, axis, groupSize: 32, metaDtype: 'bf16', hqqMode });
    const x = randomKv(shape, 'outliers', 31);
    x[5] = NaN;
    x[77] = -Infinity;
    const fake = await runFakeQuantize(x, cfg, { shape });
    const expected = fakeQuantize(x, shape, cfg);
    for (let i = 0; i < x.length; i++) expect(Object.is(fake[i], expected[i]) || fake[i] === expected[i]).toBe(true);
  });

  it.each(cases)('$axis b=$bits G=$groupSize $metaDtype $hqqMode $kind', async (c) => {
    const cfg = config({ backend: 'hqq', bits: c.bits, axis: c.axis, groupSize: c.groupSize, metaDtype: c.metaDtype, hqqMode: c.hqqMode });
    const x = randomKv(c.shape, c.kind, 7000 + 100 * c.bits + c.groupSize);
    const ts = quantize(x, c.shape, cfg);
    const graph = await runQuantizePack(x, cfg, { shape: c.shape });
    const n = x.length;
    const G = cfg.groupSize;
    const Q = 2 ** cfg.bits - 1;

    // Scales come from min/max only: identical. Zeros: within the last bits of fp32 plus one metadata ulp.
    expect(Array.from(graph.scales)).toEqual(Array.from(ts.scales));
    for (let k = 0; k < ts.zeros.length; k++) {
      expect(Math.abs(graph.zeros[k] - ts.zeros[k])).toBeLessThanOrEqual(2 * ulp(ts.zeros[k], c.metaDtype) + 1e-5 * Q);
    }

    // Codes: any mismatch is off by one, at a member sitting on the midpoint of two grid values.
    const layout = groupLayout(c.shape, cfg.axis, G);
    const tsCodes = unpack(ts.codes, cfg.bits, n);
    const graphCodes = unpack(graph.codes, cfg.bits, n);
    let mismatches = 0;
    for (let k = 0; k < n; k++) {
      if (tsCodes[k] === graphCodes[k]) continue;
      mismatches++;
      const grp = Math.floor(k / G);
      const xv = x[layout.index[k]];
      const scale = ts.scales[grp];
      const mid = ((tsCodes[k] + graphCodes[k]) / 2 - ts.zeros[grp]) * scale;
      expect(Math.abs(tsCodes[k] - graphCodes[k])).toBe(1);
      expect(Math.abs(xv - mid)).toBeLessThanOrEqual(1e-4 * scale + 2 * ulp(ts.zeros[grp], c.metaDtype) * scale);
    }
    expect(mismatches).toBeLessThanOrEqual(Math.max(2, n * 1e-3));

    // Dequantize across the boundary both ways: exact for the same bytes and metadata.
    const meta = (v: Float32Array) => metaForBoundary(v, cfg.metaDtype);
    const fromTs = await runUnpackDequantize(ts.codes, meta(ts.scales), meta(ts.zeros), cfg, { shape: c.shape });
    const expectedTs = dequantize(ts);
    for (let i = 0; i < n; i++) expect(fromTs[i]).toBe(expectedTs[i]);
    const graphAsTs: QuantizedTensor = { ...ts, codes: graph.codes, scales: graph.scales, zeros: graph.zeros };
    const fromGraph = await runUnpackDequantize(graph.codes, meta(graph.scales), meta(graph.zeros), cfg, { shape: c.shape });
    const expectedGraph = dequantize(graphAsTs);
    for (let i = 0; i < n; i++) expect(fromGraph[i]).toBe(expectedGraph[i]);

    // Graph bytes dequantized in the graph vs TypeScript's dequantized values (identical when the codes are).
    for (let k = 0; k < n; k++) {
      const i = layout.index[k];
      const grp = Math.floor(k / G);
      const tol = (tsCodes[k] !== graphCodes[k] ? 1 : 0) * ts.scales[grp] + (2 * ulp(ts.zeros[grp], c.metaDtype) + 1e-5 * Q) * ts.scales[grp];
      expect(Math.abs(fromGraph[i] - expectedTs[i])).toBeLessThanOrEqual(tol);
    }
  });
});
