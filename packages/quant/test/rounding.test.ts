import { describe, expect, it } from 'vitest';
import { rne, roundBf16, roundFp16, roundMeta, roundToDtype } from '../src/rounding';
import { referenceRne, referenceRoundMeta } from '../src/reference';
import { gaussian, rng, SEED } from './random';

const why = `seed ${SEED}`;

describe('round half to even', () => {
  it('rounds exact ties to the even neighbour, unlike Math.round', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 14.5].map((v) => rne(v) + 0)).toEqual([0, 2, 2, 0, -2, -2, 4, 14]);
    expect(rne(2.4999999999999996)).toBe(2);
    expect(rne(1e300)).toBe(1e300);
    expect(Number.isNaN(rne(NaN))).toBe(true);
  });
  it('agrees with the plain reference on random values', () => {
    const r = rng(SEED);
    for (let i = 0; i < 20000; i++) {
      const v = (r() - 0.5) * 10 ** (r() * 8);
      const t = i % 3 === 0 ? Math.round(v) + 0.5 : v;
      expect(rne(t) + 0, why).toBe(referenceRne(t) + 0); // the sign of a zero code does not matter
    }
  });
});

describe('metadata dtype emulation', () => {
  it('fp16 matches known values: ties, subnormals, overflow', () => {
    expect(roundFp16(1 + 2 ** -11)).toBe(1); // tie -> even
    expect(roundFp16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundFp16(65504)).toBe(65504);
    expect(roundFp16(65519.99)).toBe(65504);
    expect(roundFp16(65520)).toBe(Infinity);
    expect(roundFp16(2 ** -24)).toBe(2 ** -24);
    expect(roundFp16(2 ** -26)).toBe(0);
    expect(roundFp16(3 * 2 ** -26)).toBe(2 ** -24);
    expect(roundFp16(0.1)).toBe(0.0999755859375);
    expect(Number.isNaN(roundFp16(NaN))).toBe(true);
  });
  it('bf16 matches known values', () => {
    expect(roundBf16(1 + 2 ** -8)).toBe(1);
    expect(roundBf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(roundBf16(0.1)).toBe(0.10009765625);
    expect(roundBf16(-Infinity)).toBe(-Infinity);
  });
  it('meta rounding saturates instead of overflowing', () => {
    expect(roundMeta(1e6, 'fp16')).toBe(65504);
    expect(roundMeta(-1e6, 'fp16')).toBe(-65504);
  });
  it('bit tricks agree with the arithmetic reference on random fp32 values', () => {
    const r = rng(SEED + 1);
    for (const dtype of ['fp16', 'bf16', 'fp32'] as const) {
      for (let i = 0; i < 20000; i++) {
        const v = Math.fround(gaussian(r) * 10 ** (r() * 12 - 8));
        expect(roundMeta(v, dtype), `${why} ${dtype} ${v}`).toBe(referenceRoundMeta(v, dtype));
        expect(roundToDtype(roundToDtype(v, dtype), dtype)).toBe(roundToDtype(v, dtype));
      }
    }
  });
});
