// The fp32 TypeScript quantizers against the float64 reference, on fresh random inputs, over the grid
// backend x layout x bits x group size x metadata dtype x input distribution (every value of every
// dimension is covered; combinations rotate so the whole file stays fast).
import { describe, expect, it } from 'vitest';
import { AXES, META_DTYPES, type GroupAxis, type MetaDtype, type QuantizerConfig } from '../src/config';
import { dequantize, quantize, quantizeGrouped, unpackCodes } from '../src/quantize';
import { referenceGroups, referenceHqq, referenceQuanto, type ReferenceGroupResult } from '../src/reference';
import { DISTRIBUTIONS, rng, SEED, tensor } from './random';

// Two shapes: [1,2,32,16] (groups inside heads) and [2,3,8,8] (quanto-per-channel blocks cross heads and
// batch rows; hqq-per-channel columns mix channels for G = 32).
const SHAPES = [
  [1, 2, 32, 16],
  [2, 3, 8, 8],
] as const;
const GROUP_SIZES: Record<GroupAxis, number[][]> = {
  'per-token': [[4, 8, 16, 32, 64], [2, 4, 8, 16]],
  'per-channel': [[2, 4, 8, 16, 32], [2, 4, 8]],
  'quanto-per-channel': [[4, 8, 16, 32, 64], [3, 6, 12, 16, 48]],
  'hqq-per-channel': [[4, 16, 32, 64, 128], [6, 12, 16, 32, 64]],
};
/** One ulp (relative) of each metadata dtype. */
const ULP: Record<MetaDtype, number> = { fp32: 2 ** -23, fp16: 2 ** -10, bf16: 2 ** -7 };
const BACKENDS = [
  { backend: 'quanto', hqqMode: 'faithful' },
  { backend: 'hqq', hqqMode: 'faithful' },
  { backend: 'hqq', hqqMode: 'clean' },
] as const;

interface Case {
  shape: readonly number[];
  config: QuantizerConfig;
  dist: (typeof DISTRIBUTIONS)[number];
  seed: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  let k = SEED % 1000;
  BACKENDS.forEach(({ backend, hqqMode }) => {
    AXES.forEach((axis) => {
      for (let bits = 1; bits <= 8; bits++) {
        k++;
        const s = k % SHAPES.length;
        const sizes = GROUP_SIZES[axis][s];
        out.push({
          shape: SHAPES[s],
          config: { backend, hqqMode, axis, bits, groupSize: sizes[k % sizes.length], metaDtype: META_DTYPES[(k + bits) % 3] },
          dist: DISTRIBUTIONS[(k + 2 * bits) % DISTRIBUTIONS.length],
          seed: SEED + k,
        });
      }
    });
  });
  return out;
}

function close(a: number, b: number, rel: number, abs = 0): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

describe(`fp32 quantizers vs the float64 reference (seed ${SEED})`, () => {
  const all = cases();

  it('the grid covers every layout, bits, group size, dtype and distribution', () => {
    for (const axis of AXES) {
      const mine = all.filter((c) => c.config.axis === axis);
      expect(new Set(mine.map((c) => c.config.bits)).size).toBe(8);
      expect(new Set(mine.map((c) => c.config.metaDtype)).size).toBe(3);
      expect(new Set(mine.map((c) => c.dist)).size).toBe(DISTRIBUTIONS.length);
      const sizes = new Set(mine.map((c) => `${c.shape}:${c.config.groupSize}`));
      expect(sizes.size).toBeGreaterThanOrEqual(Math.min(GROUP_SIZES[axis][0].length, 5));
    }
  });

  for (const c of all) {
    const { config, shape, dist } = c;
    const name = `${config.backend}${config.backend === 'hqq' ? `/${config.hqqMode}` : ''} ${config.axis} b=${config.bits} G=${config.groupSize} ${config.metaDtype} ${dist} [${shape}]`;
    it(name, () => {
      const why = `${name}, seed ${c.seed} (replay: QUANT_SEED=${SEED})`;
      const r = rng(c.seed);
      const members = referenceGroups(shape, config.axis, config.groupSize);
      const x = tensor(r, shape, dist, members);
      const ts = quantizeGrouped(x, shape, config);
      const groupsX = members.map((m) => m.map((n) => x[n]));
      const Q = 2 ** config.bits - 1;
      const ulp = ULP[config.metaDtype];

      let ref: ReferenceGroupResult[];
      let sameTrajectory = true;
      if (config.backend === 'quanto') ref = groupsX.map((g) => referenceQuanto(g, config.bits, config.metaDtype));
      else {
        const h = referenceHqq(groupsX, config.bits, config.hqqMode, config.metaDtype);
        ref = h.groups;
        // fp32 and float64 can disagree on a near-equal error comparison and stop at another step.
        sameTrajectory = config.hqqMode === 'clean' || h.iterations === ts.solverIterations;
      }

      const G = config.groupSize;
      let hardMismatches = 0; // code differences away from any rounding tie
      let tsAbs = 0;
      let refAbs = 0;
      let finite = 0;
      for (let g = 0; g < ref.length; g++) {
        const scale = ts.scales[g];
        const zero = ts.zeros[g];
        const subnormal = config.metaDtype === 'fp16' ? 2 ** -24 : 1e-38;
        expect(close(scale, ref[g].scale, 2 * ulp, subnormal), `${why}: scale of group ${g}: ${scale} vs ${ref[g].scale}`).toBe(true);
        if (config.backend === 'quanto') expect(zero, `${why}: shift of group ${g}`).toBe(ref[g].zero);
        for (let i = 0; i < G; i++) {
          const v = groupsX[g][i];
          const code = ts.codes[g * G + i];
          if (!Number.isFinite(v)) {
            expect(code, why).toBe(0);
            continue;
          }
          finite++;
          if (code !== ref[g].codes[i]) {
            const u = ref[g].preRound[i];
            const fromTie = Math.abs(Math.abs(u - Math.floor(u)) - 0.5);
            // fp32 noise of the value rounded: quanto (x + shift)/scale; HQQ x*s^ + z, whose terms can be
            // large (2e4 * |x| in faithful mode) and whose z went through 20 fp32 means.
            const noise =
              config.backend === 'quanto'
                ? 1e-5 * Math.max(1, Math.abs(u)) + (scale !== ref[g].scale ? 4 * ulp * Q : 0)
                : 2e-3 + 2e-6 * (Math.abs(v) / ref[g].scale + Math.abs(ref[g].rawZero as number));
            if (fromTie > noise || Math.abs(code - ref[g].codes[i]) > 1) hardMismatches++;
          }
          const xhat = config.backend === 'quanto' ? Math.fround(scale * code) - zero : (code - zero) * scale;
          tsAbs += Math.abs(v - xhat);
          refAbs += Math.abs(v - ref[g].xhat[i]);
        }
      }
      if (finite > 0) {
        // quanto: codes equal except at fp32 ties. HQQ faithful on the same solver trajectory: the zeros agree
        // to fp32 accuracy, so codes nearly always do. HQQ clean makes one stop decision per group on
        // near-equal errors, where fp32 and float64 legitimately part ways: only its quality is compared.
        if (config.backend === 'quanto') expect(hardMismatches, `${why}: codes differing away from a tie`).toBe(0);
        else if (config.hqqMode === 'faithful' && sameTrajectory) {
          expect(hardMismatches / finite, `${why}: ${hardMismatches} codes differ away from a tie`).toBeLessThanOrEqual(0.01);
        }
        const maxAbs = Math.max(...groupsX.flat().filter(Number.isFinite).map(Math.abs));
        const floor = finite * (1e-6 + ulp) * (1 + maxAbs);
        const rel = config.backend === 'quanto' || (config.hqqMode === 'faithful' && sameTrajectory) ? 0.01 : 0.05;
        expect(Math.abs(tsAbs - refAbs), `${why}: sum |err| ${tsAbs} vs reference ${refAbs}`).toBeLessThanOrEqual(rel * refAbs + floor);
      }

      // The packed tensor dequantizes to the same values, with non-finite inputs restored and counted.
      const qt = quantize(x, shape, config);
      expect(unpackCodes(qt)).toEqual(ts.codes);
      const y = dequantize(qt);
      let nonFinite = 0;
      for (let n = 0; n < x.length; n++) {
        if (!Number.isFinite(x[n])) {
          nonFinite++;
          expect(Object.is(y[n], x[n]), `${why}: non-finite at ${n}`).toBe(true);
        } else expect(Number.isFinite(y[n]), `${why}: finite input ${n} -> ${y[n]}`).toBe(true);
      }
      expect(qt.nonFinite).toBe(nonFinite);
    });
  }
});
