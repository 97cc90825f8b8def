// Norm-aware layer-wise group sizes: spectral-kv's kvq/group_pattern.py (quantizers.md §6.3). Keeps the
// number of (scale, zero) pairs of a uniform group size g_budget, Σ 1/g_i = 2L/g_budget, and spends them
// where the error model c_i·g_i (c_i = sens_i, not squared) says they matter.
import { BUDGET_TOLERANCE } from './bit-budget';

export const KVQ_GROUP_RANGE: readonly number[] = [16, 32, 64, 128, 256];

export interface GroupBudgetInput {
  keySensitivities: readonly number[];
  valueSensitivities: readonly number[];
  /** The uniform group size whose metadata cost is matched. */
  groupBudget: number;
  groupRange?: readonly number[];
}

export interface GroupAllocation {
  keyGroupSizes: number[];
  valueGroupSizes: number[];
  /** Σ 1/g_i reached, and the target 2L/g_budget. */
  inverseSum: number;
  target: number;
  exact: boolean;
  /** Σ c_i·g_i. */
  modelError: number;
}

export function allocateGroupSizes(input: GroupBudgetInput): GroupAllocation {
  const { keySensitivities: ks, valueSensitivities: vs, groupBudget } = input;
  const layers = ks.length;
  if (layers === 0) throw new Error('keySensitivities: at least one layer is needed');
  if (vs.length !== layers) throw new Error(`valueSensitivities: ${vs.length} layers, expected ${layers}`);
  const range = [...new Set(input.groupRange ?? KVQ_GROUP_RANGE)].sort((a, b) => a - b);
  for (const g of range) if (!Number.isInteger(g) || g < 1) throw new Error(`groupRange: group sizes must be positive integers, got ${g}`);
  if (!(groupBudget >= range[0] && groupBudget <= range[range.length - 1])) {
    throw new Error(`groupBudget: ${groupBudget} is outside the group range [${range[0]}, ${range[range.length - 1]}]`);
  }
  const c: number[] = [];
  for (let l = 0; l < layers; l++) c.push(ks[l], vs[l]);
  c.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) throw new Error(`${i % 2 ? 'valueSensitivities' : 'keySensitivities'}[${i >> 1}]: must be a finite non-negative number, got ${v}`);
  });
  const n = c.length;
  const target = n / groupBudget;

  // 1. Continuous optimum g* = κ/√c with κ = Σ√c / target (all-zero sensitivities: uniform).
  const roots = c.map(Math.sqrt);
  const rootSum = roots.reduce((a, b) => a + b, 0);
  const kappa = rootSum / target;
  // 2. Nearest allowed size, ties to the smaller.
  const level = roots.map((r) => {
    const ideal = rootSum === 0 ? groupBudget : kappa / r; // r = 0 -> Infinity -> largest size
    let best = 0;
    for (let k = 1; k < range.length; k++) {
      if (Math.abs(range[k] - ideal) < Math.abs(range[best] - ideal)) best = k;
    }
    return best;
  });
  const inv = () => level.reduce((s, k) => s + 1 / range[k], 0);

  // 3. Greedy repair toward Σ 1/g = target without overshooting.
  for (;;) {
    const sum = inv();
    const gap = sum - target;
    if (Math.abs(gap) <= BUDGET_TOLERANCE) break;
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < n; i++) {
      const g = range[level[i]];
      if (gap > 0) {
        // Too many groups: enlarge the cheapest g (least error added per unit of Σ1/g removed).
        if (level[i] + 1 >= range.length) continue;
        const next = range[level[i] + 1];
        const delta = 1 / g - 1 / next;
        if (sum - delta < target - BUDGET_TOLERANCE) continue;
        const cost = (c[i] * (next - g)) / delta;
        if (best < 0 || cost < bestScore) {
          best = i;
          bestScore = cost;
        }
      } else {
        // Too few groups: shrink the g that gains most error per unit of Σ1/g added.
        if (level[i] === 0) continue;
        const prev = range[level[i] - 1];
        const delta = 1 / prev - 1 / g;
        if (sum + delta > target + BUDGET_TOLERANCE) continue;
        const gain = (c[i] * (g - prev)) / delta;
        if (best < 0 || gain > bestScore) {
          best = i;
          bestScore = gain;
        }
      }
    }
    if (best < 0) break;
    level[best] += gap > 0 ? 1 : -1;
  }

  const sizes = level.map((k) => range[k]);
  const inverseSum = inv();
  return {
    keyGroupSizes: sizes.filter((_, i) => i % 2 === 0),
    valueGroupSizes: sizes.filter((_, i) => i % 2 === 1),
    inverseSum,
    target,
    exact: Math.abs(inverseSum - target) <= BUDGET_TOLERANCE,
    modelError: sizes.reduce((s, g, i) => s + c[i] * g, 0),
  };
}
