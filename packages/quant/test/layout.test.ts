import { describe, expect, it } from 'vitest';
import { AXES, QuantConfigError } from '../src/config';
import { gather, groupLayout, scatter, validateLayout } from '../src/layout';
import { referenceGroups } from '../src/reference';
import { rng, SEED } from './random';

const why = `seed ${SEED}`;

function groupOf(layout: ReturnType<typeof groupLayout>, g: number): number[] {
  return Array.from(layout.index.subarray(g * layout.groupSize, (g + 1) * layout.groupSize));
}

/** [b, h, s, d] of a flat index. */
function coords(n: number, [, H, S, D]: readonly number[]): [number, number, number, number] {
  return [Math.floor(n / (H * S * D)), Math.floor(n / (S * D)) % H, Math.floor(n / D) % S, n % D];
}

describe('group layouts', () => {
  it('match the reshape/transpose derivation of the libraries, and are permutations', () => {
    const cases: [number[], (typeof AXES)[number], number][] = [
      [[1, 2, 8, 4], 'per-token', 2],
      [[1, 2, 8, 4], 'per-token', 8], // G > headDim: spans tokens
      [[2, 3, 4, 4], 'per-token', 16],
      [[1, 2, 8, 4], 'per-channel', 4],
      [[2, 3, 6, 4], 'per-channel', 3],
      [[1, 2, 8, 4], 'quanto-per-channel', 4],
      [[1, 3, 6, 4], 'quanto-per-channel', 9], // blocks cross heads
      [[2, 2, 6, 4], 'hqq-per-channel', 8],
      [[1, 2, 5, 4], 'hqq-per-channel', 8], // stride not a multiple of D: channels mix
    ];
    for (const [shape, axis, G] of cases) {
      const layout = groupLayout(shape, axis, G);
      const ref = referenceGroups(shape, axis, G);
      expect(layout.groups).toBe(ref.length);
      for (let g = 0; g < ref.length; g++) expect(groupOf(layout, g), `${axis} ${shape} G=${G} group ${g}`).toEqual(ref[g]);
      const seen = new Uint8Array(layout.numel);
      for (const n of layout.index) seen[n]++;
      expect(seen.every((c) => c === 1)).toBe(true);
    }
  });

  it('quanto-per-channel crosses heads exactly as the spec re-derivation says (B=1,H=8,S=48,D=128,G=64)', () => {
    const shape = [1, 8, 48, 128];
    const group0 = groupOf(groupLayout(shape, 'quanto-per-channel', 64), 0).map((n) => coords(n, shape));
    expect(group0.every(([, , , d]) => d === 0)).toBe(true);
    expect(group0.slice(0, 48).map(([, h, s]) => [h, s])).toEqual(Array.from({ length: 48 }, (_, s) => [0, s]));
    expect(group0.slice(48).map(([, h, s]) => [h, s])).toEqual(Array.from({ length: 16 }, (_, s) => [1, s]));
  });

  it('hqq-per-channel strides across all heads (S=48) and mixes channels when B*H*S % G != 0 (S=47)', () => {
    const shape = [1, 8, 48, 128];
    const col0 = groupOf(groupLayout(shape, 'hqq-per-channel', 64), 0).map((n) => coords(n, shape));
    const expected: number[][] = [];
    for (let h = 0; h < 8; h++) for (let s = 0; s < 48; s += 6) expected.push([h, s, 0]);
    expect(col0.map(([, h, s, d]) => [h, s, d])).toEqual(expected);
    const skew = groupOf(groupLayout([1, 8, 47, 128], 'hqq-per-channel', 64), 0);
    expect(skew[1] - skew[0]).toBe(752);
    expect(new Set(skew.map((n) => n % 128)).size).toBeGreaterThan(1);
    expect(skew[1] % 128).toBe(112);
  });

  it('per-channel (KIVI) groups G consecutive tokens of one (batch, head, channel)', () => {
    const shape = [2, 2, 8, 4];
    const layout = groupLayout(shape, 'per-channel', 4);
    for (let g = 0; g < layout.groups; g++) {
      const c = groupOf(layout, g).map((n) => coords(n, shape));
      expect(new Set(c.map(([b, h, , d]) => `${b},${h},${d}`)).size).toBe(1);
      expect(c.map(([, , s]) => s - c[0][2])).toEqual([0, 1, 2, 3]);
    }
  });

  it('gather then scatter is the identity on random data', () => {
    const r = rng(SEED);
    for (const axis of AXES) {
      const shape = [1, 4, 16, 8];
      const layout = groupLayout(shape, axis, 8);
      const x = Float32Array.from({ length: layout.numel }, () => r());
      expect(scatter(gather(x, layout), layout), `${why} ${axis}`).toEqual(x);
    }
  });

  it('rejects group sizes the layout cannot use, naming the field and the allowed values', () => {
    const bad: [number[], (typeof AXES)[number], number, RegExp][] = [
      [[1, 8, 100, 128], 'per-channel', 64, /key\.groupSize: got 64, per-channel .* needs a divisor of seq=100; allowed: 1, 2, 4, 5, 10, 20, 25, 50, 100/],
      [[1, 8, 47, 128], 'quanto-per-channel', 64, /key\.groupSize: got 64.*divisor of batch\*kvHeads\*seq=376/],
      [[1, 8, 48, 128], 'per-token', 48, /key\.groupSize: got 48.*divisor or multiple of headDim=128/],
      [[1, 1, 3, 128], 'per-token', 256, /key\.groupSize: got 256.*divisor of numel=384/],
      [[1, 1, 3, 5], 'hqq-per-channel', 2, /key\.groupSize.*divisor of numel=15; allowed: 1, 3, 5, 15/],
    ];
    for (const [shape, axis, G, message] of bad) {
      expect(() => validateLayout(shape, axis, G, 'key')).toThrow(QuantConfigError);
      expect(() => validateLayout(shape, axis, G, 'key')).toThrow(message);
    }
    expect(() => validateLayout([1, 8, 0, 128], 'per-token', 64, 'value')).toThrow(/value\.shape\.seq: got 0/);
    expect(() => validateLayout([1, 8, 128], 'per-token', 64)).toThrow(/shape: got \[1,8,128\]/);
    expect(() => validateLayout([1, 8, 4, 128], 'per-head' as never, 64, 'key')).toThrow(/key\.axis: got "per-head", allowed: per-token, per-channel, quanto-per-channel, hqq-per-channel/);
  });
});
