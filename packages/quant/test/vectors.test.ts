// quantizers.md §12: the spec's small test vectors (a NumPy fp32 re-derivation with round-half-even).
import { describe, expect, it } from 'vitest';
import { dequantize, quantize, quantizeGrouped } from '../src/quantize';
import { referenceHqq, referenceQuanto } from '../src/reference';

const x = [
  0.12573, -0.132105, 0.640423, 4.0, -0.535669, 0.361595, 1.304, 0.947081,
  -0.703735, -1.265422, -0.623274, 0.041326, -2.325031, -0.218792, -1.245911, -0.732267,
];
const shape = [1, 1, 2, 8]; // two groups of 8: per-token with G = 8 (Quanto axis 0 / HQQ axis 1)

function errors(config: Parameters<typeof quantize>[2]): { mse: number; mae: number } {
  const y = dequantize(quantize(x, shape, config));
  let mse = 0;
  let mae = 0;
  for (let i = 0; i < x.length; i++) {
    mse += (x[i] - y[i]) ** 2;
    mae += Math.abs(x[i] - y[i]);
  }
  return { mse: mse / x.length, mae: mae / x.length };
}

const base = { axis: 'per-token', groupSize: 8, metaDtype: 'fp32' } as const;
const codes2 = [0, 0, 1, 3, 0, 1, 1, 1, 2, 1, 2, 3, 0, 3, 1, 2];
const codes4 = [2, 1, 4, 15, 0, 3, 6, 5, 10, 7, 11, 15, 0, 13, 7, 10];

describe('§12 test vectors', () => {
  it('min-max (quanto), b = 2', () => {
    const q = quantizeGrouped(x, shape, { ...base, backend: 'quanto', bits: 2 });
    expect(Array.from(q.codes)).toEqual(codes2);
    expect(q.scales[0]).toBeCloseTo(1.51189, 5);
    expect(q.scales[1]).toBeCloseTo(0.788786, 6);
    expect(q.zeros[0]).toBeCloseTo(0.535669, 6);
    expect(q.zeros[1]).toBeCloseTo(2.325031, 6);
    expect(errors({ ...base, backend: 'quanto', bits: 2 }).mse).toBeCloseTo(0.090124, 6);
  });

  it('min-max (quanto), b = 4', () => {
    const q = quantizeGrouped(x, shape, { ...base, backend: 'quanto', bits: 4 });
    expect(Array.from(q.codes)).toEqual(codes4);
    expect(q.scales[0]).toBeCloseTo(0.302378, 6);
    expect(q.scales[1]).toBeCloseTo(0.157757, 6);
    const e = errors({ ...base, backend: 'quanto', bits: 4 });
    expect(e.mse).toBeCloseTo(0.00157, 6);
    expect(e.mae).toBeCloseTo(0.029589, 5); // spec: NumPy fp32 sums; ours 0.0295885
  });

  it('HQQ faithful, b = 2: same codes, zero [0.336427, 2.86324], MSE 0.087281, mean |err| 0.215375', () => {
    const config = { ...base, backend: 'hqq', bits: 2, hqqMode: 'faithful' } as const;
    const q = quantizeGrouped(x, shape, config);
    expect(Array.from(q.codes)).toEqual(codes2);
    expect(q.scales[0]).toBeCloseTo(1.51189, 5);
    expect(q.scales[1]).toBeCloseTo(0.788786, 6);
    expect(q.zeros[0]).toBeCloseTo(0.336427, 6);
    expect(q.zeros[1]).toBeCloseTo(2.86324, 5);
    const e = errors(config);
    expect(e.mse).toBeCloseTo(0.087281, 6);
    expect(e.mae).toBeCloseTo(0.215375, 6);
    // quirk 1 of §4.3: the L1 error ends slightly worse than min-max's 0.211043
    expect(errors({ ...base, backend: 'quanto', bits: 2 }).mae).toBeCloseTo(0.211043, 6);
  });

  it('HQQ faithful, b = 4: same codes, zero [1.725718, 14.729427], MSE 0.001474, mean |err| 0.031490', () => {
    const config = { ...base, backend: 'hqq', bits: 4, hqqMode: 'faithful' } as const;
    const q = quantizeGrouped(x, shape, config);
    expect(Array.from(q.codes)).toEqual(codes4);
    expect(q.zeros[0]).toBeCloseTo(1.725718, 5);
    expect(q.zeros[1]).toBeCloseTo(14.729427, 5);
    const e = errors(config);
    expect(e.mse).toBeCloseTo(0.001474, 6);
    expect(e.mae).toBeCloseTo(0.03149, 6);
  });

  it('the float64 reference reproduces the same vectors', () => {
    const rows = [x.slice(0, 8), x.slice(8)];
    expect(rows.flatMap((row) => referenceQuanto(row, 2, 'fp32').codes)).toEqual(codes2);
    expect(rows.flatMap((row) => referenceQuanto(row, 4, 'fp32').codes)).toEqual(codes4);
    const h2 = referenceHqq(rows, 2, 'faithful', 'fp32').groups;
    expect(h2[0].zero).toBeCloseTo(0.336427, 5);
    expect(h2[1].zero).toBeCloseTo(2.86324, 5);
    const h4 = referenceHqq(rows, 4, 'faithful', 'fp32').groups;
    expect(h4[0].zero).toBeCloseTo(1.725718, 5);
    expect(h4[1].zero).toBeCloseTo(14.729427, 4);
  });

  it('constant group [0.5 x 8], b = 4: both backends reconstruct exactly 0.5', () => {
    for (const backend of ['quanto', 'hqq'] as const) {
      for (const hqqMode of ['faithful', 'clean'] as const) {
        for (const metaDtype of ['fp32', 'fp16', 'bf16'] as const) {
          const qt = quantize(new Float32Array(8).fill(0.5), [1, 1, 1, 8], { backend, hqqMode, metaDtype, bits: 4, groupSize: 8 });
          expect(Array.from(dequantize(qt))).toEqual(new Array(8).fill(0.5));
          expect(qt.codes.every((c) => c === 0)).toBe(true);
          if (backend === 'quanto') expect(qt.scales[0]).toBe(0);
        }
      }
    }
  });
});
