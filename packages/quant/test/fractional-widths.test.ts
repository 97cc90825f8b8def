// The 1.58-bit (ternary) width: codes 0..2 stored in 2 bits, checked against the float64 reference,
// the dense 2-bit packing, the ONNX emitters (onnxruntime-node, CPU) and the memory accounting.

import { describe, expect, it } from 'vitest';
import { layerwiseStorage, storedCodeBits } from '../src/budget/storage';
import { QuantConfigError, quantizerConfig, type GroupAxis, type HqqMode, type KvQuantConfig, type MetaDtype, type QuantizerConfig } from '../src/config';
import { FRACTIONAL_BITS, groupLayout, kvQuantConfig, maxCode, pack, packedBytes, storageBits, unpack } from '../src/index';
import { bitsPerElement, heldBytes, kvBytesPerToken, quantizedTensorBytes } from '../src/memory';
import { metaForBoundary, quantizedFormat } from '../src/onnx/index';
import { dequantize, fakeQuantize, quantize, quantizeGrouped, unpackCodes } from '../src/quantize';
import { referenceGroups, referenceHqq, referencePack, referenceQuanto, type ReferenceGroupResult } from '../src/reference';
import { config, randomKv, runFakeQuantize, runQuantizePack, runUnpackDequantize, type InputKind, type Shape4 } from './onnx-harness';
import { rng, SEED, tensor, type Distribution } from './random';

const TERNARY = 1.58;
const AXES: GroupAxis[] = ['per-token', 'per-channel', 'quanto-per-channel', 'hqq-per-channel'];
const META: MetaDtype[] = ['fp32', 'fp16', 'bf16'];
const ULP: Record<MetaDtype, number> = { fp32: 2 ** -23, fp16: 2 ** -10, bf16: 2 ** -7 };
const BACKENDS = [
  { backend: 'quanto', hqqMode: 'faithful' },
  { backend: 'hqq', hqqMode: 'faithful' },
  { backend: 'hqq', hqqMode: 'clean' },
] as const;

describe('widths', () => {
  it('maxCode and storageBits: 1.58 is ternary in 2 bits, integers unchanged', () => {
    expect(FRACTIONAL_BITS).toEqual([1.58]);
    expect(maxCode(TERNARY)).toBe(2);
    expect(storageBits(TERNARY)).toBe(2);
    for (let b = 1; b <= 8; b++) {
      expect(maxCode(b)).toBe(2 ** b - 1);
      expect(storageBits(b)).toBe(b);
    }
    for (const bad of [0, 1.5, 1.6, 2.5, 9]) {
      expect(() => maxCode(bad)).toThrow(/bits: got/);
      expect(() => storageBits(bad)).toThrow(/bits: got/);
    }
  });

  it("budget/storage's dense width agrees with storageBits", () => {
    for (const b of [1, TERNARY, 2, 3, 4, 5, 6, 7, 8]) expect(storedCodeBits(b, 'dense')).toBe(storageBits(b));
  });

  it('quantizerConfig accepts 1.58 and rejects other fractions and out-of-range widths, naming the field', () => {
    expect(quantizerConfig({ bits: TERNARY }).bits).toBe(TERNARY);
    const kv = kvQuantConfig({ key: { bits: 4 }, value: { bits: TERNARY, backend: 'hqq' } });
    expect(kv.value.bits).toBe(TERNARY);
    for (const bad of [1.5, 1.6, 0, 9, 2.5]) {
      for (const prefix of ['', 'key', 'value']) {
        const field = prefix ? `${prefix}.bits` : 'bits';
        let err: unknown;
        try {
          quantizerConfig({ bits: bad }, prefix);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(QuantConfigError);
        expect((err as QuantConfigError).field).toBe(field);
        expect((err as Error).message).toBe(`${field}: got ${bad}, allowed: integers 1..8 or 1.58`);
      }
    }
    expect(() => kvQuantConfig({ value: { bits: 1.6 } })).toThrow(/^value\.bits: got 1\.6, allowed: integers 1\.\.8 or 1\.58$/);
  });
});

// Fresh inputs every run (seed printed; replay with QUANT_SEED).
describe(`1.58 bits vs the float64 reference (seed ${SEED})`, () => {
  const SHAPE = [2, 3, 64, 16] as const;
  const DISTS: Distribution[] = ['gaussian', 'heavy-tailed'];
  const cases: { config: QuantizerConfig; dist: Distribution; seed: number }[] = [];
  let k = SEED % 1000;
  for (const { backend, hqqMode } of BACKENDS) {
    for (const axis of AXES) {
      for (const dist of DISTS) {
        k++;
        const groupSize = [8, 16, 32, 64][k % 4];
        cases.push({ config: { backend, hqqMode, axis, bits: TERNARY, groupSize, metaDtype: META[k % 3] }, dist, seed: SEED + k });
      }
    }
  }

  it.each(cases)('$config.backend/$config.hqqMode $config.axis G=$config.groupSize $config.metaDtype $dist', ({ config: cfg, dist, seed }) => {
    const why = `${cfg.backend}/${cfg.hqqMode} ${cfg.axis} ${dist}, seed ${seed} (replay: QUANT_SEED=${SEED})`;
    const shape = SHAPE;
    const members = referenceGroups(shape, cfg.axis, cfg.groupSize);
    const x = tensor(rng(seed), shape, dist);
    const ts = quantizeGrouped(x, shape, cfg);
    const groupsX = members.map((m) => m.map((n) => x[n]));
    const G = cfg.groupSize;
    const Q = 2;
    const ulp = ULP[cfg.metaDtype];

    let ref: ReferenceGroupResult[];
    let sameTrajectory = true;
    if (cfg.backend === 'quanto') ref = groupsX.map((g) => referenceQuanto(g, TERNARY, cfg.metaDtype));
    else {
      const h = referenceHqq(groupsX, TERNARY, cfg.hqqMode, cfg.metaDtype);
      ref = h.groups;
      sameTrajectory = cfg.hqqMode === 'clean' || h.iterations === ts.solverIterations;
    }

    let hard = 0;
    let tsAbs = 0;
    let refAbs = 0;
    for (let g = 0; g < ref.length; g++) {
      const scale = ts.scales[g];
      const zero = ts.zeros[g];
      expect(Math.abs(scale - ref[g].scale), `${why}: scale of group ${g}`).toBeLessThanOrEqual(2 * ulp * Math.abs(ref[g].scale) + 1e-30);
      if (cfg.backend === 'quanto') {
        expect(zero, `${why}: shift of group ${g}`).toBe(ref[g].zero);
        // Quanto's step is (M - m)/2 (rounded to the metadata dtype).
        const m = Math.min(...groupsX[g]);
        const M = Math.max(...groupsX[g]);
        expect(Math.abs(scale - (M - m) / 2)).toBeLessThanOrEqual(ulp * Math.abs(M - m) + 1e-30);
      }
      for (let i = 0; i < G; i++) {
        const v = groupsX[g][i];
        const code = ts.codes[g * G + i];
        expect(code, why).toBeLessThanOrEqual(2);
        expect(ref[g].codes[i]).toBeLessThanOrEqual(2);
        if (code !== ref[g].codes[i]) {
          const u = ref[g].preRound[i];
          const fromTie = Math.abs(Math.abs(u - Math.floor(u)) - 0.5);
          const noise =
            cfg.backend === 'quanto'
              ? 1e-5 * Math.max(1, Math.abs(u)) + (scale !== ref[g].scale ? 4 * ulp * Q : 0)
              : 2e-3 + 2e-6 * (Math.abs(v) / ref[g].scale + Math.abs(ref[g].rawZero as number));
          if (fromTie > noise || Math.abs(code - ref[g].codes[i]) > 1) hard++;
        }
        const xhat = cfg.backend === 'quanto' ? Math.fround(scale * code) - zero : (code - zero) * scale;
        tsAbs += Math.abs(v - xhat);
        refAbs += Math.abs(v - ref[g].xhat[i]);
      }
    }
    if (cfg.backend === 'quanto') expect(hard, `${why}: codes differing away from a tie`).toBe(0);
    else if (cfg.hqqMode === 'faithful' && sameTrajectory) expect(hard / x.length, why).toBeLessThanOrEqual(0.01);
    const maxAbs = Math.max(...Array.from(x, Math.abs));
    const rel = cfg.backend === 'quanto' || (cfg.hqqMode === 'faithful' && sameTrajectory) ? 0.01 : 0.05;
    expect(Math.abs(tsAbs - refAbs), `${why}: sum |err| ${tsAbs} vs ${refAbs}`).toBeLessThanOrEqual(rel * refAbs + x.length * (1e-6 + ulp) * (1 + maxAbs));

    // Packed exactly as 2-bit codes, and dequantized from the packed form.
    const qt = quantize(x, shape, cfg);
    expect(qt.codes.length).toBe(packedBytes(x.length, 2));
    expect(Buffer.from(qt.codes).equals(Buffer.from(pack(ts.codes, 2)))).toBe(true);
    expect(Buffer.from(qt.codes).equals(Buffer.from(referencePack(ts.codes, 2)))).toBe(true);
    expect(unpackCodes(qt)).toEqual(ts.codes);
    expect(unpack(qt.codes, 2, x.length)).toEqual(ts.codes);
    expect(heldBytes(qt)).toEqual(quantizedTensorBytes(shape, cfg));

    if (cfg.backend === 'quanto') {
      // |x - x^| <= scale/2, up to how far the rounded metadata moves the grid's ends off [m, M].
      const y = dequantize(qt);
      for (let g = 0; g < members.length; g++) {
        const m = Math.min(...groupsX[g]);
        const M = Math.max(...groupsX[g]);
        const s = ts.scales[g];
        const shift = ts.zeros[g];
        const slack = Math.abs(shift + m) + Math.abs(Q * s - (M - m)) + 2 ** -22 * (Math.abs(M) + Math.abs(m) + Q * s);
        for (const n of members[g]) expect(Math.abs(x[n] - y[n]), `${why}: element ${n}`).toBeLessThanOrEqual(s / 2 + slack);
      }
    }
  });

  it('fp32 metadata: quanto error <= scale/2 up to fp32 rounding', () => {
    const shape = [1, 4, 64, 32] as const;
    for (const dist of ['gaussian', 'heavy-tailed'] as Distribution[]) {
      for (const axis of ['per-token', 'per-channel'] as GroupAxis[]) {
        const cfg = quantizerConfig({ backend: 'quanto', bits: TERNARY, axis, groupSize: 32, metaDtype: 'fp32' });
        const x = tensor(rng(SEED + 17), shape, dist);
        const qt = quantize(x, shape, cfg);
        const y = dequantize(qt);
        const members = referenceGroups(shape, axis, 32);
        members.forEach((mem, g) => {
          const s = qt.scales[g];
          for (const n of mem) expect(Math.abs(x[n] - y[n]), `${dist} ${axis} seed ${SEED}`).toBeLessThanOrEqual(s / 2 + 2 ** -21 * (Math.abs(x[n]) + 2 * s));
        });
        expect(Math.max(...unpackCodes(qt))).toBe(2);
      }
    }
  });
});

describe('ONNX emitters at 1.58 bits agree with TypeScript', () => {
  interface Case {
    backend: 'quanto' | 'hqq';
    hqqMode: HqqMode;
    axis: GroupAxis;
    groupSize: number;
    metaDtype: MetaDtype;
    kind: InputKind;
    shape: Shape4;
    pack: 'split' | 'scaled';
    unpack: 'table' | 'arithmetic';
  }
  const cases: Case[] = [];
  let k = 0;
  for (const { backend, hqqMode } of BACKENDS) {
    AXES.forEach((axis, a) => {
      k++;
      const groupSize = axis === 'per-token' ? [32, 64, 128][k % 3] : [16, 32][k % 2];
      const shape: Shape4 = axis === 'per-token' ? [1, 2, 12, 64] : axis === 'quanto-per-channel' ? [2, 2, 48, 16] : [1, 3, 64, 16];
      const kind: InputKind = (k + a) % 2 === 0 ? 'gaussian' : 'outliers';
      cases.push({ backend, hqqMode, axis, groupSize, metaDtype: META[k % 3], kind, shape, pack: k % 2 ? 'split' : 'scaled', unpack: k % 2 ? 'table' : 'arithmetic' });
    });
  }
  // The direct byte-table unpack (per-token, table) with each backend.
  cases.push({ ...cases[0], unpack: 'table', pack: 'split', kind: 'outliers' }, { ...cases[4], unpack: 'table', kind: 'gaussian' });

  it.each(cases)('$backend/$hqqMode $axis G=$groupSize $metaDtype $kind pack=$pack unpack=$unpack', async (c) => {
    const cfg = config({ backend: c.backend, hqqMode: c.hqqMode, bits: TERNARY, axis: c.axis, groupSize: c.groupSize, metaDtype: c.metaDtype });
    const seed = SEED + 31 * cases.indexOf(c);
    const why = `seed ${seed} (replay: QUANT_SEED=${SEED})`;
    const x = randomKv(c.shape, c.kind, seed);
    const n = x.length;
    const ts = quantize(x, c.shape, cfg);
    const methods = { pack: c.pack, unpack: c.unpack };
    const graph = await runQuantizePack(x, cfg, { shape: c.shape, ...methods });

    // Same bytes, in the 2-bit boundary format.
    const [B, H, S, D] = c.shape;
    const fmt = quantizedFormat(cfg, { batch: B, heads: H, seq: S, headDim: D });
    expect(graph.codesDims).toEqual(fmt.codes.shape);
    expect(fmt.codes.shape.at(-1)).toBe(c.axis === 'per-token' ? (D * 2) / 8 : (c.groupSize * 2) / 8);
    expect(graph.codes.length).toBe(packedBytes(n, 2));
    const tsCodes = unpack(ts.codes, 2, n);
    const graphCodes = unpack(graph.codes, 2, n);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (tsCodes[i] !== graphCodes[i]) mismatches++;
    expect(mismatches, why).toBe(0);
    expect(Math.max(...graphCodes)).toBeLessThanOrEqual(2);
    expect(Buffer.from(graph.codes).equals(Buffer.from(ts.codes)), why).toBe(true);
    expect(Array.from(graph.scales), why).toEqual(Array.from(ts.scales));
    const ulp = ULP[c.metaDtype];
    const zeroTol = (z: number) => (c.backend === 'quanto' ? 0 : 2 * (Math.abs(z) * ulp + 1e-30) + 2e-5);
    for (let g = 0; g < ts.zeros.length; g++) expect(Math.abs(graph.zeros[g] - ts.zeros[g]), why).toBeLessThanOrEqual(zeroTol(ts.zeros[g]));

    // Unpack+dequantize in the graph: TS bytes give TS values exactly; graph bytes within the zeros' tolerance.
    const meta = (v: Float32Array) => metaForBoundary(v, cfg.metaDtype);
    const expected = dequantize(ts);
    const fromTs = await runUnpackDequantize(ts.codes, meta(ts.scales), meta(ts.zeros), cfg, { shape: c.shape, ...methods });
    expect(Array.from(fromTs)).toEqual(Array.from(expected));
    const fromGraph = await runUnpackDequantize(graph.codes, meta(graph.scales), meta(graph.zeros), cfg, { shape: c.shape, ...methods });
    expect(Array.from(fromGraph)).toEqual(Array.from(dequantize({ ...ts, zeros: graph.zeros })));
    const fake = await runFakeQuantize(x, cfg, { shape: c.shape });
    const tsFake = fakeQuantize(x, c.shape, cfg);
    // Codes and scales are equal, so values differ only by the zeros' difference times the scale.
    const layout = groupLayout(c.shape, cfg.axis, cfg.groupSize);
    for (let j = 0; j < n; j++) {
      const i = layout.index[j];
      const g = Math.floor(j / cfg.groupSize);
      const tol = zeroTol(ts.zeros[g]) * ts.scales[g] * (1 + 1e-6);
      expect(Math.abs(fromGraph[i] - expected[i]), why).toBeLessThanOrEqual(tol);
      expect(Math.abs(fake[i] - tsFake[i]), why).toBeLessThanOrEqual(tol);
    }
  });
});

describe('memory accounting at 1.58 bits', () => {
  const model = { layers: 16, kvHeads: 8, headDim: 64 };
  const q = (bits: number, extra: Partial<QuantizerConfig> = {}): QuantizerConfig => quantizerConfig({ bits, groupSize: 64, metaDtype: 'bf16', ...extra });
  const kv = (k: number, v: number, extra: Partial<QuantizerConfig> = {}): KvQuantConfig => ({ key: q(k, extra), value: q(v, extra) });

  it('counts 2 bits per code, as a 2-bit config', () => {
    expect(bitsPerElement(q(TERNARY))).toBe(2.5);
    expect(kvBytesPerToken(model, kv(TERNARY, TERNARY))).toBe(kvBytesPerToken(model, kv(2, 2)));
    expect(kvBytesPerToken(model, kv(TERNARY, TERNARY))).toBe(5120); // §10.3 K2V2, Llama-3.2-1B
    expect(kvBytesPerToken(model, kv(4, TERNARY, { backend: 'hqq' }))).toBe(kvBytesPerToken(model, kv(4, 2, { backend: 'hqq' })));
    for (const axis of AXES) {
      const shape = [1, 8, 64, 64];
      expect(quantizedTensorBytes(shape, q(TERNARY, { axis }))).toEqual(quantizedTensorBytes(shape, q(2, { axis })));
    }
  });

  it('per-layer allocations with 1.58 cost what budget/storage says for dense packing', () => {
    const keyBits = [4, 2, TERNARY, 1, 8, TERNARY, 2, 4, 4, 2, TERNARY, 1, 8, TERNARY, 2, 4];
    const valueBits = [TERNARY, 1, 2, TERNARY, 4, 2, TERNARY, 1, TERNARY, 1, 2, TERNARY, 4, 2, TERNARY, 1];
    const perLayer = keyBits.map((kb, l) => ({ key: q(kb), value: q(valueBits[l]) }));
    const dense = layerwiseStorage({ keyBits, valueBits, keyGroupSize: 64, valueGroupSize: 64, kvHeads: 8, headDim: 64, packing: 'dense' });
    expect(kvBytesPerToken(model, perLayer)).toBe(dense.bytesPerToken);
  });
});
