// Properties that hold for every input: quanto's error bound and idempotence, HQQ clean never worse than
// min-max, HQQ faithful quirks, non-finite handling, constant groups.
import { describe, expect, it } from 'vitest';
import { AXES, META_DTYPES, type QuantizerConfig } from '../src/config';
import { groupLayout } from '../src/layout';
import { dequantize, quantize, quantizeGrouped } from '../src/quantize';
import { referenceGroups } from '../src/reference';
import { pick, rng, SEED, tensor, type Distribution } from './random';

const why = `seed ${SEED} (replay: QUANT_SEED=${SEED})`;
const SHAPE = [1, 4, 32, 16];
const GROUP_SIZES = { 'per-token': [4, 16, 32], 'per-channel': [4, 8, 32], 'quanto-per-channel': [8, 32, 64], 'hqq-per-channel': [8, 32, 128] } as const;

function groupErrors(x: Float32Array, y: Float32Array, config: QuantizerConfig): Float64Array {
  const layout = groupLayout(SHAPE, config.axis, config.groupSize);
  const G = config.groupSize;
  const errs = new Float64Array(layout.groups);
  for (let k = 0; k < layout.numel; k++) {
    const n = layout.index[k];
    if (Number.isFinite(x[n])) errs[Math.floor(k / G)] += Math.abs(x[n] - y[n]) / G;
  }
  return errs;
}

describe(`quantizer properties (seed ${SEED})`, () => {
  it('quanto: |x - x^| <= scale/2 inside the stored grid, for every layout, bits and dtype', () => {
    const r = rng(SEED);
    for (const axis of AXES) {
      for (let bits = 1; bits <= 8; bits++) {
        const metaDtype = META_DTYPES[bits % 3];
        const config: QuantizerConfig = { backend: 'quanto', hqqMode: 'faithful', axis, bits, groupSize: pick(r, GROUP_SIZES[axis]), metaDtype };
        const dist = pick(r, ['gaussian', 'heavy-tailed', 'tiny-range', 'constant-groups'] as Distribution[]);
        const members = referenceGroups(SHAPE, axis, config.groupSize);
        const x = tensor(r, SHAPE, dist, members);
        const q = quantizeGrouped(x, SHAPE, config);
        const y = dequantize(quantize(x, SHAPE, config));
        const Q = 2 ** bits - 1;
        members.forEach((group, g) => {
          const s = q.scales[g];
          const shift = q.zeros[g];
          // With rounded metadata the grid [-shift, Q*s - shift] can miss [m, M] by the rounding; the bound
          // widens by exactly that (0 for fp32 up to an ulp).
          const m = Math.min(...group.map((n) => x[n]));
          const M = Math.max(...group.map((n) => x[n]));
          const overhang = Math.max(0, -shift - m, M - (Q * s - shift));
          const bound = Math.max(s / 2, overhang) + 4 * 2 ** -24 * (Math.abs(m) + Math.abs(M) + Q * s);
          const worst = Math.max(...group.map((n) => Math.abs(x[n] - y[n])));
          if (worst > bound) {
            const detail = JSON.stringify({ s, shift, m, M, G: config.groupSize, x: group.map((n) => x[n]), y: group.map((n) => y[n]) });
            expect(worst, `${why} ${axis} b=${bits} ${metaDtype} ${dist} group ${g} ${detail}`).toBeLessThanOrEqual(bound);
          }
          if (metaDtype === 'fp32') expect(overhang).toBeLessThanOrEqual(4 * 2 ** -24 * (Math.abs(m) + Math.abs(M)));
        });
      }
    }
  });

  it('quanto: re-quantizing a dequantized tensor reproduces it (same codes, same values)', () => {
    const r = rng(SEED + 1);
    for (const axis of AXES) {
      for (const metaDtype of META_DTYPES) {
        const bits = 1 + Math.floor(r() * 8);
        const config: QuantizerConfig = { backend: 'quanto', hqqMode: 'faithful', axis, bits, groupSize: pick(r, GROUP_SIZES[axis]), metaDtype };
        const x = tensor(r, SHAPE, pick(r, ['gaussian', 'heavy-tailed'] as Distribution[]));
        const once = quantizeGrouped(x, SHAPE, config);
        const y = dequantize(quantize(x, SHAPE, config));
        const twice = quantizeGrouped(y, SHAPE, config);
        const y2 = dequantize(quantize(y, SHAPE, config));
        const label = `${why} ${axis} b=${bits} ${metaDtype}`;
        // fp32 metadata: the min maps to code 0 and the max to Q, so every group reproduces its grid.
        // fp16/bf16: rounding the shift and scale can leave a group without code 0 or Q; a group that has
        // both reproduces its grid exactly, others legitimately re-fit.
        const G = config.groupSize;
        const Q = 2 ** bits - 1;
        let checked = 0;
        for (let g = 0; g < once.scales.length; g++) {
          const codes = once.codes.subarray(g * G, g * G + G);
          if (metaDtype !== 'fp32' && !(codes.includes(0) && codes.includes(Q))) continue;
          checked++;
          expect(Array.from(twice.codes.subarray(g * G, g * G + G)), `${label} group ${g}`).toEqual(Array.from(codes));
        }
        expect(checked).toBeGreaterThan(0);
        if (metaDtype !== 'fp32') continue;
        // x^ = s*q - shift: equal up to the fp32 rounding of that difference (an ulp of the tensor's scale)
        const maxAbs = Math.max(...Array.from(y).map(Math.abs));
        let worst = 0;
        for (let n = 0; n < y.length; n++) worst = Math.max(worst, Math.abs(y2[n] - y[n]));
        expect(worst, label).toBeLessThanOrEqual(4 * 2 ** -24 * maxAbs);
      }
    }
  });

  it('HQQ clean: every group error <= min-max error (same scale), for every layout, bits and dtype', () => {
    const r = rng(SEED + 2);
    for (const axis of AXES) {
      for (let bits = 1; bits <= 8; bits++) {
        const metaDtype = META_DTYPES[(bits + 1) % 3];
        const groupSize = pick(r, GROUP_SIZES[axis]);
        const dist = pick(r, ['gaussian', 'heavy-tailed', 'tiny-range', 'constant-groups', 'non-finite'] as Distribution[]);
        const x = tensor(r, SHAPE, dist, referenceGroups(SHAPE, axis, groupSize));
        const clean: QuantizerConfig = { backend: 'hqq', hqqMode: 'clean', axis, bits, groupSize, metaDtype };
        const minMax: QuantizerConfig = { ...clean, backend: 'quanto' };
        const eClean = groupErrors(x, dequantize(quantize(x, SHAPE, clean)), clean);
        const eMinMax = groupErrors(x, dequantize(quantize(x, SHAPE, minMax)), minMax);
        const maxAbs = Math.max(...Array.from(x).filter(Number.isFinite).map(Math.abs));
        // Quanto and HQQ round their metadata differently (s, -m vs 1/s^, -m*s^), hence the small slack.
        const ulp = metaDtype === 'fp32' ? 2 ** -22 : metaDtype === 'fp16' ? 2 ** -10 : 2 ** -7;
        for (let g = 0; g < eClean.length; g++) {
          const bound = eMinMax[g] * (1 + 1e-3) + 2 * ulp * maxAbs;
          if (eClean[g] > bound) expect(eClean[g], `${why} ${axis} b=${bits} ${metaDtype} ${dist} group ${g}`).toBeLessThanOrEqual(bound);
        }
      }
    }
  });

  it('HQQ faithful: the early stop is global, and a constant or tiny-range group follows the 1e-4 guard', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * 3);
    const config = { backend: 'hqq', hqqMode: 'faithful', bits: 2, groupSize: 16, axis: 'per-token', metaDtype: 'fp32' } as const;
    const all = quantizeGrouped(x, [1, 1, 4, 16], config);
    expect(all.solverIterations).toBeGreaterThan(0);
    expect(all.solverIterations).toBeLessThanOrEqual(20);
    // The stop is decided on the whole tensor: quantizing one group alone can stop at another step.
    const alone = [0, 1, 2, 3].map((g) => quantizeGrouped(x.subarray(g * 16, g * 16 + 16), [1, 1, 1, 16], config));
    const sameAsAlone = alone.every((a, g) => a.zeros[0] === all.zeros[g]);
    if (!alone.every((a) => a.solverIterations === all.solverIterations)) expect(sameAsAlone).toBe(false);
    // range 5e-5 <= 1e-4: s^ = 1, z starts at -m, every code is 0, and the solver moves z to -mean(x)
    const tiny = Float32Array.from({ length: 16 }, (_, i) => 1 + (i % 2) * 5e-5);
    const q = quantizeGrouped(tiny, [1, 1, 1, 16], config);
    expect(Array.from(q.codes).every((c) => c === 0)).toBe(true);
    expect(q.scales[0]).toBe(1);
    expect(q.zeros[0]).toBeCloseTo(-1.000025, 6);
    expect(dequantize(quantize(tiny, [1, 1, 1, 16], config))[1]).toBeCloseTo(1.000025, 6);
    // clean mode quantizes the same group normally
    const cleanCodes = quantizeGrouped(tiny, [1, 1, 1, 16], { ...config, hqqMode: 'clean' }).codes;
    expect(new Set(cleanCodes).size).toBe(2);
  });

  it('non-finite inputs are counted, excluded from their group, and restored; the rest is unharmed', () => {
    const r = rng(SEED + 3);
    for (const backend of ['quanto', 'hqq'] as const) {
      for (const hqqMode of ['faithful', 'clean'] as const) {
        const config: QuantizerConfig = { backend, hqqMode, axis: 'per-token', bits: 4, groupSize: 16, metaDtype: 'fp16' };
        const clean = tensor(r, SHAPE, 'gaussian');
        const x = clean.slice();
        x[3] = NaN;
        x[100] = Infinity;
        x[101] = -Infinity;
        const qt = quantize(x, SHAPE, config);
        expect(qt.nonFinite).toBe(3);
        expect(Array.from(qt.nonFiniteIndex)).toEqual([3, 100, 101]);
        const y = dequantize(qt);
        expect(Number.isNaN(y[3])).toBe(true);
        expect(y[100]).toBe(Infinity);
        expect(y[101]).toBe(-Infinity);
        expect(y.filter((v, n) => n !== 3 && n !== 100 && n !== 101).every(Number.isFinite)).toBe(true);
        // groups without non-finite members are quantized exactly as without them (quanto: per group;
        // HQQ faithful's global stop sees a different error sum, so only check quanto and clean)
        if (backend === 'quanto' || hqqMode === 'clean') {
          const y0 = dequantize(quantize(clean, SHAPE, config));
          for (let n = 112; n < y.length; n++) expect(y[n], `${why} ${backend} ${hqqMode} ${n}`).toBe(y0[n]);
        }
        // an all-NaN group is a constant group of zeros plus its side list
        const allNaN = new Float32Array(16).fill(NaN);
        const q2 = quantize(allNaN, [1, 1, 1, 16], config);
        expect(q2.nonFinite).toBe(16);
        expect(dequantize(q2).every(Number.isNaN)).toBe(true);
      }
    }
  });

  it('constant groups are exact in every layout, backend and dtype (for values the dtype holds)', () => {
    for (const axis of AXES) {
      for (const backend of ['quanto', 'hqq'] as const) {
        for (const metaDtype of META_DTYPES) {
          const groupSize = GROUP_SIZES[axis][0];
          const x = new Float32Array(SHAPE.reduce((a, b) => a * b)).fill(-0.375);
          const y = dequantize(quantize(x, SHAPE, { axis, backend, metaDtype, groupSize, bits: 3, hqqMode: 'clean' }));
          expect(y.every((v) => v === -0.375), `${axis} ${backend} ${metaDtype}`).toBe(true);
        }
      }
    }
  });
});
