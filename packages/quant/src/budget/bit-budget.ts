// Norm-aware layer-wise bit allocation: spectral-kv's kvq/bit_pattern.py (quantizers.md §6.2), exactly.
// Tensors are interleaved [K0, V0, K1, V1, ...]; tensor i has rate-distortion weight c_i = sens_i^2 and
// error c_i·2^(-2b). Starting from the smallest allowed width, the greedy loop repeatedly raises the
// tensor with the largest error drop per bit that still fits the total budget T = 2·β·L.

/** Tolerance of kvq's budget and tie comparisons. */
export const BUDGET_TOLERANCE = 1e-6;

/** spectral-kv's notebook range and the lm-eval example's (quantizers.md §6.1, §11.6). */
export const KVQ_BIT_RANGE: readonly number[] = [1, 1.58, 2, 4, 6, 8];

export interface BitBudgetInput {
  /** Per-layer key sensitivities (a Frobenius or spectral norm), length L. */
  keySensitivities: readonly number[];
  /** Per-layer value sensitivities, length L. */
  valueSensitivities: readonly number[];
  /** Average nominal bits per tensor (β_b). */
  budget: number;
  /** Allowed widths; default KVQ_BIT_RANGE. Sorted and de-duplicated here. */
  bitRange?: readonly number[];
}

export interface BitAllocation {
  keyBits: number[];
  valueBits: number[];
  /** Nominal bits used, summed over the 2L tensors (kvq's `used`). */
  used: number;
  /** T = 2·β·L. */
  target: number;
  /** Σ c_i·2^(-2 b_i) at the allocation. */
  modelError: number;
  /** kvq prints a warning when used ≠ T (common with 1.58 in the range, e.g. 63.9 of 64). */
  exact: boolean;
}

export function bitModelError(c: number, bits: number): number {
  return c * Math.pow(2, -2 * bits);
}

export function normalizeBitRange(bitRange: readonly number[], field = 'bitRange'): number[] {
  if (bitRange.length === 0) throw new Error(`${field}: must list at least one width`);
  for (const b of bitRange) {
    if (!Number.isFinite(b) || b <= 0) throw new Error(`${field}: widths must be positive numbers, got ${b}`);
  }
  return [...new Set(bitRange)].sort((a, b) => a - b);
}

function checkSensitivities(name: string, s: readonly number[], layers: number): void {
  if (s.length !== layers) throw new Error(`${name}: ${s.length} layers, expected ${layers}`);
  s.forEach((v, l) => {
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name}[${l}]: must be a finite non-negative number, got ${v}`);
  });
}

export function allocateBits(input: BitBudgetInput): BitAllocation {
  const { keySensitivities: ks, valueSensitivities: vs, budget } = input;
  const layers = ks.length;
  if (layers === 0) throw new Error('keySensitivities: at least one layer is needed');
  checkSensitivities('keySensitivities', ks, layers);
  checkSensitivities('valueSensitivities', vs, layers);
  const range = normalizeBitRange(input.bitRange ?? KVQ_BIT_RANGE);
  if (!Number.isFinite(budget) || budget < range[0] || budget > range[range.length - 1]) {
    throw new Error(`budget: ${budget} is outside the bit range [${range[0]}, ${range[range.length - 1]}]`);
  }

  const c: number[] = [];
  for (let l = 0; l < layers; l++) c.push(ks[l] * ks[l], vs[l] * vs[l]);
  const n = c.length;
  const target = 2 * budget * layers;
  const level = new Array<number>(n).fill(0); // index into range
  let used = n * range[0];

  while (used + BUDGET_TOLERANCE < target) {
    let best = -1;
    let bestGain = -Infinity;
    for (let i = 0; i < n; i++) {
      if (level[i] + 1 >= range.length) continue;
      const b = range[level[i]];
      const next = range[level[i] + 1];
      if (used + (next - b) - target > BUDGET_TOLERANCE) continue;
      const gain = (bitModelError(c[i], b) - bitModelError(c[i], next)) / (next - b);
      // Must beat the best by more than the tolerance: ties go to the lowest index (earlier layer, K first).
      if (best < 0 || gain > bestGain + BUDGET_TOLERANCE) {
        best = i;
        bestGain = gain;
      }
    }
    if (best < 0) break;
    used += range[level[best] + 1] - range[level[best]];
    level[best]++;
  }

  const bits = level.map((k) => range[k]);
  return {
    keyBits: bits.filter((_, i) => i % 2 === 0),
    valueBits: bits.filter((_, i) => i % 2 === 1),
    used,
    target,
    modelError: bits.reduce((s, b, i) => s + bitModelError(c[i], b), 0),
    exact: Math.abs(used - target) <= BUDGET_TOLERANCE,
  };
}
