// The in-graph Quanto quantizer against the TypeScript one: codes, packed bytes, metadata, dequantized
// values, both directions across the graph boundary, on fresh random inputs of every kind.

import { describe, expect, it } from 'vitest';
import type { GroupAxis, MetaDtype } from '../src/config';
import { dequantize, fakeQuantize, quantize, unpack } from '../src/index';
import { metaForBoundary } from '../src/onnx/index';
import { config, randomKv, runFakeQuantize, runQuantizePack, runUnpackDequantize, type InputKind, type Shape4 } from './onnx-harness';

interface Case {
  axis: GroupAxis;
  bits: number;
  groupSize: number;
  metaDtype: MetaDtype;
  kind: InputKind;
  shape: Shape4;
}

// Every value of each dimension appears; combinations are spread so each bits value meets each layout.
const AXES: GroupAxis[] = ['per-token', 'per-channel', 'quanto-per-channel', 'hqq-per-channel'];
const KINDS: InputKind[] = ['gaussian', 'outliers', 'constant-groups', 'tiny-range', 'grid'];
const META: MetaDtype[] = ['fp32', 'fp16', 'bf16'];
const cases: Case[] = [];
for (let bits = 1; bits <= 8; bits++) {
  AXES.forEach((axis, a) => {
    const groupSize = axis === 'per-token' ? [32, 64, 128, 256][(bits + a) % 4] : [16, 32, 64][(bits + a) % 3];
    // S chosen so per-channel layouts divide and quanto-per-channel blocks cross heads (B*H*S % G == 0, S % G != 0 for some).
    const shape: Shape4 = axis === 'per-token' ? [1, 2, 12, 64] : axis === 'quanto-per-channel' ? [2, 2, 48, 16] : [1, 3, 64, 16];
    cases.push({ axis, bits, groupSize, metaDtype: META[(bits + a) % 3], kind: KINDS[(bits * 4 + a) % 5], shape });
  });
}

function sameValues(a: Float32Array, b: Float32Array): number {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) bad++;
  return bad;
}

describe('ONNX quanto quantize+pack agrees with TypeScript', () => {
  it.each(cases)('$axis b=$bits G=$groupSize $metaDtype $kind (pack/unpack forms alternate)', async (c) => {
    const cfg = config({ backend: 'quanto', bits: c.bits, axis: c.axis, groupSize: c.groupSize, metaDtype: c.metaDtype });
    const x = randomKv(c.shape, c.kind, 1000 * c.bits + c.groupSize);
    const ts = quantize(x, c.shape, cfg);
    // Alternate the two packing/unpacking forms across cases (both must give the same bytes).
    const methods = (c.bits + AXES.indexOf(c.axis)) % 2 === 0 ? { pack: 'split' as const, unpack: 'table' as const } : { pack: 'scaled' as const, unpack: 'arithmetic' as const };
    const graph = await runQuantizePack(x, cfg, { shape: c.shape, ...methods });

    // Same arithmetic in the same order: codes and metadata are identical, ties included.
    const n = x.length;
    const tsCodes = unpack(ts.codes, cfg.bits, n);
    const graphCodes = unpack(graph.codes, cfg.bits, n);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (tsCodes[i] !== graphCodes[i]) mismatches++;
    expect(mismatches).toBe(0);
    expect(Buffer.from(graph.codes).equals(Buffer.from(ts.codes))).toBe(true);
    expect(sameValues(graph.scales, ts.scales)).toBe(0);
    expect(sameValues(graph.zeros, ts.zeros)).toBe(0);

    // Graph bytes unpacked in the graph, and TS bytes unpacked in the graph, give TS's dequantized values.
    const expected = dequantize(ts);
    const fromGraph = await runUnpackDequantize(graph.codes, metaForBoundary(graph.scales, cfg.metaDtype), metaForBoundary(graph.zeros, cfg.metaDtype), cfg, { shape: c.shape, ...methods });
    const fromTs = await runUnpackDequantize(ts.codes, metaForBoundary(ts.scales, cfg.metaDtype), metaForBoundary(ts.zeros, cfg.metaDtype), cfg, { shape: c.shape, ...methods });
    expect(sameValues(fromGraph, expected)).toBe(0);
    expect(sameValues(fromTs, expected)).toBe(0);

    const fake = await runFakeQuantize(x, cfg, { shape: c.shape });
    expect(sameValues(fake, fakeQuantize(x, c.shape, cfg))).toBe(0);
  });
});
