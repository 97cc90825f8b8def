// Issue 6 items 3-4 in the run config: rotation, TurboQuant, budget mode; their canonical form, labels,
// memory estimates and sweep templates.
import { describe, expect, it } from 'vitest';
import { turboKvBytesPerToken } from '@kvbench/quant';
import {
  SWEEP_TEMPLATES,
  ValidationError,
  budgetBits,
  canonicalJson,
  canonicalRun,
  expandSweep,
  parseRunConfig,
  planMemory,
  runKvQuantConfig,
  runLabel,
  runVariant,
  safeParseRunConfig,
} from '../src/index';

const base = { model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2 };
const budget4 = { model: 'stories260k', benchmark: 'tinystories', budget: 4 };

function issues(input: unknown): { field: string; message: string }[] {
  const r = safeParseRunConfig(input);
  return r.ok ? [] : r.issues;
}
const fields = (input: unknown) => issues(input).map((i) => i.field);

describe('existing hashes are unchanged', () => {
  // Hashes computed by the code before rotation / turbo / budget existed (commit 092b199).
  const before: [Record<string, unknown>, string][] = [
    [base, '11474cce944c9a78a948a92bdd1522c40fd44cc624fbe12a7883c821f26fee4b'],
    [{ ...base, keyBits: 16, valueBits: 16 }, '2f3779911f9103146468ec777c482154d95f71b3cf9729a9c8367ec94e7232e8'],
    [{ model: 'Llama-3.2-1B', benchmark: 'gsm8k', keyBits: 2, valueBits: 4, backend: 'hqq', keyAxis: 'per-channel', keyGroupSize: 32, hqqMode: 'clean' }, '477ea41274c3b2a38cc7eebd5bc6bc29e76950f7c25933b7d5a0c801af65e2b3'],
    [{ model: 'stories260k', benchmark: 'tinystories', protocol: 'analyze', limit: 4, maxTokens: 64 }, 'f06d437e35fcb196f1c3799f2bddae1402e1eab11cf96f80cc151a548e702469'],
  ];
  it.each(before)('%j keeps its hash', (input, hash) => {
    expect(canonicalRun(input).hash).toBe(hash);
  });

  it('new fields at their defaults add nothing to the canonical JSON', () => {
    const plain = canonicalJson(parseRunConfig(base));
    const explicit = parseRunConfig({ ...base, rotation: 'none', budget: null, bitRange: [1, 2], budgetScore: 'frobenius', turboScheme: 'KV' });
    expect(canonicalJson(explicit)).toBe(plain);
    for (const k of ['rotation', 'turboScheme', 'budget', 'bitRange', 'budgetScore', 'budgetSource', 'groupBudget']) expect(plain).not.toContain(`"${k}"`);
  });
});

describe('computeDtype', () => {
  it('float16 is part of the config and the hash; float32 (the default) adds nothing', () => {
    const c = parseRunConfig({ ...base, computeDtype: 'float16' });
    expect(c.computeDtype).toBe('float16');
    expect(canonicalRun({ ...base, computeDtype: 'float16' }).hash).not.toBe(canonicalRun(base).hash);
    expect(canonicalJson(parseRunConfig({ ...base, computeDtype: 'float32' }))).toBe(canonicalJson(parseRunConfig(base)));
    expect(parseRunConfig({ ...base, keyBits: 16, valueBits: 16, computeDtype: 'float16' }).computeDtype).toBe('float16');
  });

  it('refuses other values and analyze runs, naming the field', () => {
    expect(fields({ ...base, computeDtype: 'bfloat16' })).toEqual(['computeDtype']);
    expect(fields({ model: 'stories260k', benchmark: 'tinystories', protocol: 'analyze', computeDtype: 'float16' })).toEqual(['computeDtype']);
  });
});

describe('rotation', () => {
  it('is part of the config and the hash for quanto and hqq', () => {
    const c = parseRunConfig({ ...base, rotation: 'hadamard' });
    expect(c.rotation).toBe('hadamard');
    expect(canonicalRun({ ...base, rotation: 'hadamard' }).hash).not.toBe(canonicalRun(base).hash);
    expect(parseRunConfig({ ...base, backend: 'hqq', rotation: 'hadamard' }).rotation).toBe('hadamard');
  });

  it('is refused with turbo, full precision and analyze, naming the field', () => {
    expect(fields({ ...base, rotation: 'hadamard', backend: 'turbo' })).toEqual(['rotation']);
    expect(fields({ ...base, keyBits: 16, valueBits: 16, rotation: 'hadamard' })).toEqual(['rotation']);
    expect(fields({ ...base, protocol: 'analyze', rotation: 'hadamard' })).toEqual(['rotation']);
    expect(fields({ ...base, rotation: 'givens' })).toEqual(['rotation']);
  });
});

describe('turbo', () => {
  it('defaults to KQV and nulls the grouped-quantizer fields', () => {
    const c = parseRunConfig({ ...base, backend: 'turbo', keyGroupSize: 32, keyAxis: 'per-channel', metaDtype: 'bf16' });
    expect(c).toMatchObject({ backend: 'turbo', turboScheme: 'KQV', keyBits: 4, valueBits: 2, keyGroupSize: null, valueGroupSize: null, keyAxis: null, valueAxis: null, metaDtype: null, hqqMode: null, residualLength: 128 });
    // the layout fields cannot split turbo hashes
    expect(canonicalRun({ ...base, backend: 'turbo', keyGroupSize: 32 }).hash).toBe(canonicalRun({ ...base, backend: 'turbo' }).hash);
    expect(canonicalRun({ ...base, backend: 'turbo', turboScheme: 'KV' }).hash).not.toBe(canonicalRun({ ...base, backend: 'turbo' }).hash);
  });

  it('carries its bits in a default quantizer config for the engine', () => {
    const q = runKvQuantConfig(parseRunConfig({ ...base, backend: 'turbo', turboScheme: 'QKQV' }))!;
    expect(q.key).toMatchObject({ bits: 4, backend: 'quanto', axis: 'per-token', groupSize: 64 });
    expect(q.value.bits).toBe(2);
  });

  it('ignores turboScheme for other backends and full precision (like hqqMode), refuses bad names', () => {
    expect(canonicalRun({ ...base, turboScheme: 'KV' }).hash).toBe(canonicalRun(base).hash);
    expect(parseRunConfig({ ...base, keyBits: 16, valueBits: 16, backend: 'turbo' }).backend).toBeNull();
    expect(fields({ ...base, backend: 'turbo', turboScheme: 'KVQ' })).toEqual(['turboScheme']);
    expect(fields({ ...base, backend: 'turbo', protocol: 'analyze' })).toEqual(['backend']);
    expect(fields({ ...base, backend: 'turbo', keyBits: 9 })).toEqual(['keyBits']);
  });

  it('plans memory with TurboQuant accounting (rotated length, fp16 norms)', () => {
    const c = parseRunConfig({ model: 'Llama-3.2-1B', benchmark: 'tinystories', keyBits: 3, valueBits: 3, backend: 'turbo', turboScheme: 'KQV', provider: 'cuda' });
    const plan = planMemory(c);
    const shape = { layers: 16, kvHeads: 8, headDim: 64 };
    expect(plan.kvBytesPerToken).toBe(turboKvBytesPerToken(shape, { method: 'mse', bits: 3, rotatedDim: 64 }, { method: 'prod', bits: 3, rotatedDim: 64 }));
    // K: 3*64 bits + 16-bit norm = 26 B; V: 2*64 + 64 sign bits + two norms = 28 B; x 16 layers x 8 heads
    expect(plan.kvBytesPerToken).toBe(16 * 8 * (26 + 28));
    expect(plan.kvNote).toMatch(/TurboQuant KQV/);
    const kv = planMemory({ ...c, turboScheme: 'KV' }).kvBytesPerToken;
    expect(kv).toBe(16 * 8 * (26 + 26));
  });
});

describe('budget mode', () => {
  it('fills defaults, sorts the range, and sets keyBits = valueBits = round(budget)', () => {
    const c = parseRunConfig({ ...budget4, bitRange: [8, 1.58, 1, 4, 2, 6, 4] });
    expect(c).toMatchObject({ budget: 4, keyBits: 4, valueBits: 4, bitRange: [1, 1.58, 2, 4, 6, 8], budgetScore: 'spectral', budgetSource: 'weights', groupBudget: null, backend: 'quanto', keyGroupSize: 64 });
    expect(parseRunConfig(budget4).bitRange).toEqual([1, 1.58, 2, 4, 6, 8]);
    expect(parseRunConfig({ ...budget4, budget: 3.5 }).keyBits).toBe(4);
    expect(parseRunConfig({ ...budget4, budget: 1.58 }).keyBits).toBe(2);
    expect(budgetBits(2.49)).toBe(2);
    // the same range in another order is the same run
    expect(canonicalRun({ ...budget4, bitRange: [8, 6, 4, 2, 1.58, 1] }).hash).toBe(canonicalRun(budget4).hash);
    expect(canonicalRun({ ...budget4, budgetScore: 'frobenius' }).hash).not.toBe(canonicalRun(budget4).hash);
    expect(canonicalRun({ ...budget4, budgetSource: 'cache' }).hash).not.toBe(canonicalRun(budget4).hash);
    // budget 4 is not uniform K4V4
    expect(canonicalRun(budget4).hash).not.toBe(canonicalRun({ ...budget4, budget: null, keyBits: 4, valueBits: 4 }).hash);
  });

  it('accepts keyBits/valueBits only when they equal round(budget)', () => {
    expect(canonicalRun({ ...budget4, keyBits: 4, valueBits: 4 }).hash).toBe(canonicalRun(budget4).hash);
    const bad = issues({ ...budget4, keyBits: 2 });
    expect(bad.map((i) => i.field)).toEqual(['keyBits']);
    expect(bad[0].message).toMatch(/round\(budget\) = 4/);
    expect(fields({ ...budget4, keyBits: 16, valueBits: 16 }).sort()).toEqual(['keyBits', 'valueBits']);
  });

  it('with a group budget, per-layer group sizes replace the uniform ones', () => {
    const c = parseRunConfig({ ...budget4, groupBudget: 64, keyGroupSize: 32 });
    expect(c).toMatchObject({ groupBudget: 64, keyGroupSize: null, valueGroupSize: null });
    expect(runKvQuantConfig(c)!.key.groupSize).toBe(64);
    expect(fields({ ...budget4, groupBudget: 8 })).toEqual(['groupBudget']);
    expect(fields({ ...budget4, groupBudget: 48.5 })).toEqual(['groupBudget']);
  });

  it('names the field of each error', () => {
    expect(fields({ ...budget4, bitRange: [1, 1.5, 2, 9] })).toEqual(['bitRange.1', 'bitRange.3']);
    expect(issues({ ...budget4, bitRange: [1, 1.5] })[0].message).toMatch(/got 1\.5, allowed: integers 1\.\.8, or 1\.58/);
    expect(fields({ ...budget4, bitRange: [] })).toEqual(['bitRange']);
    expect(fields({ ...budget4, budget: 5, bitRange: [1, 2, 4] })).toEqual(['budget']);
    expect(fields({ ...budget4, budget: 9 })).toEqual(['budget']);
    expect(fields({ ...budget4, budget: '4' })).toEqual(['budget']);
    expect(fields({ ...budget4, backend: 'turbo' })).toEqual(['backend']);
    expect(fields({ ...budget4, keyAxis: 'quanto-per-channel' })).toEqual(['keyAxis']);
    expect(fields({ ...budget4, valueAxis: 'hqq-per-channel' })).toEqual(['valueAxis']);
    expect(fields({ ...budget4, protocol: 'analyze' })).toEqual(['budget']);
    expect(fields({ ...budget4, budgetScore: 'nuclear' })).toEqual(['budgetScore']);
    expect(fields({ ...budget4, budgetSource: 'activations' })).toEqual(['budgetSource']);
    // no budget: the bits are required as before
    expect(fields({ model: 'stories260k', benchmark: 'tinystories' }).sort()).toEqual(['keyBits', 'valueBits']);
  });

  it('ignores the budget-only fields without a budget, and combines with a rotation and hqq', () => {
    expect(canonicalRun({ ...base, bitRange: [1, 2, 4], groupBudget: 32, budgetSource: 'cache' }).hash).toBe(canonicalRun(base).hash);
    const c = parseRunConfig({ ...budget4, backend: 'hqq', rotation: 'hadamard', keyAxis: 'per-channel' });
    expect(c).toMatchObject({ backend: 'hqq', rotation: 'hadamard', keyAxis: 'per-channel', budget: 4 });
  });

  it('plans memory as a uniform estimate at the budget bits, and says so', () => {
    const c = parseRunConfig({ model: 'Llama-3.2-1B', benchmark: 'tinystories', budget: 4, provider: 'cuda', residualLength: 0, maxTokens: 1024 });
    const plan = planMemory(c);
    // same bytes as uniform K4V4 at G = 64 (quantizers.md §10.3: 9216)
    expect(plan.kvBytesPerToken).toBe(9_216);
    expect(plan.kvNote).toMatch(/^estimate: a uniform 4 bits/);
    expect(plan.reason).toMatch(/budget 4 \(spectral\), estimated/);
    // 3.5 bits with a group budget of 32: 16 x 8 x 64 x (7 + 32/32 + 32/32) / 8
    const half = planMemory(parseRunConfig({ model: 'Llama-3.2-1B', benchmark: 'tinystories', budget: 3.5, groupBudget: 32, provider: 'cuda' }));
    expect(half.kvBytesPerToken).toBe((16 * 8 * 64 * 9) / 8);
  });

  it('rotation costs no stored bytes', () => {
    const c = parseRunConfig({ model: 'Llama-3.2-1B', benchmark: 'tinystories', keyBits: 4, valueBits: 2, provider: 'cuda' });
    expect(planMemory({ ...c, rotation: 'hadamard' }).kvBytesPerToken).toBe(planMemory(c).kvBytesPerToken);
    expect(planMemory(c).kvNote).toBeNull();
  });
});

describe('runLabel', () => {
  const label = (input: Record<string, unknown>) => runLabel(parseRunConfig(input));
  it('names each kind of run', () => {
    expect(label(base)).toBe('K4V2');
    expect(label({ ...base, keyBits: 16, valueBits: 16 })).toBe('K16V16');
    expect(runLabel(parseRunConfig({ ...base, keyBits: 16, valueBits: 16 }), { fullPrecision: 'fp16' })).toBe('fp16');
    expect(label({ ...base, rotation: 'hadamard' })).toBe('K4V2 WHT');
    expect(label({ ...base, keyBits: 3, valueBits: 3, backend: 'turbo' })).toBe('TQ-KQV 3b');
    expect(label({ ...base, backend: 'turbo', turboScheme: 'QKQV' })).toBe('TQ-QKQV K4V2');
    expect(label(budget4)).toBe('budget 4 (spectral)');
    expect(label({ ...budget4, budget: 3, budgetScore: 'frobenius', budgetSource: 'cache', groupBudget: 64, rotation: 'hadamard' })).toBe('budget 3 (frobenius, cache, G64) WHT');
  });

  it('reads stored rows: the columns spread with the config variant', () => {
    const config = parseRunConfig({ ...budget4, budgetScore: 'frobenius' });
    const row = { keyBits: 4, valueBits: 4, backend: 'quanto', config: JSON.parse(JSON.stringify(config)) as unknown };
    expect(runLabel({ ...row, ...runVariant(row.config) })).toBe('budget 4 (frobenius)');
    expect(runVariant(parseRunConfig(base))).toEqual({});
    expect(runVariant(null)).toEqual({});
  });
});

describe('sweep templates', () => {
  const grid = { models: ['stories260k'], benchmarks: ['tinystories'], groupSizes: [8] };

  it('budget: budget 3 and 4 x frobenius/spectral plus uniform K3V3 and K4V4', () => {
    const x = expandSweep({ ...grid, template: 'budget' });
    expect(x.cells.map((c) => runLabel(c.config))).toEqual(['budget 3 (frobenius)', 'budget 3 (spectral)', 'budget 4 (frobenius)', 'budget 4 (spectral)', 'K3V3', 'K4V4']);
    expect(SWEEP_TEMPLATES.budget).toHaveLength(6);
    // crossed with the backends like any pair
    const hqq = expandSweep({ ...grid, template: 'budget', backends: ['quanto', 'hqq'] });
    expect(hqq.cells).toHaveLength(12);
    expect(hqq.cells.filter((c) => c.config.backend === 'hqq')).toHaveLength(6);
    // a shared budget setting goes in base; the template's own fields may not
    const cache = expandSweep({ ...grid, template: 'budget', base: { budgetSource: 'cache' } });
    expect(cache.cells.filter((c) => c.config.budgetSource === 'cache')).toHaveLength(4);
    expect(() => expandSweep({ ...grid, template: 'budget', base: { budgetScore: 'spectral' } })).toThrow(ValidationError);
  });

  it('turbo: KV/KQV/QKQV x 2,3,4 bits plus grouped quanto baselines, group sizes only on the baselines', () => {
    const x = expandSweep({ ...grid, template: 'turbo', groupSizes: [8, 16] });
    const labels = x.cells.map((c) => runLabel(c.config));
    expect(labels).toEqual(['TQ-KV 2b', 'TQ-KV 3b', 'TQ-KV 4b', 'TQ-KQV 2b', 'TQ-KQV 3b', 'TQ-KQV 4b', 'TQ-QKQV 2b', 'TQ-QKQV 3b', 'TQ-QKQV 4b', 'K2V2', 'K2V2', 'K3V3', 'K3V3', 'K4V4', 'K4V4']);
    expect(x.cells.slice(9).map((c) => c.config.keyGroupSize)).toEqual([8, 16, 8, 16, 8, 16]);
    expect(x.cells).toHaveLength(9 + 3 * 2);
    expect(x.duplicates).toBe(9); // the turbo cells do not depend on the group size
    try {
      expandSweep({ ...grid, template: 'turbo', backends: ['hqq'] });
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).issues.map((i) => i.field)).toEqual(['backends']);
    }
  });

  it('a budget in base needs no pairs; a template error names the grid field', () => {
    const x = expandSweep({ models: ['stories260k', 'Llama-3.2-1B'], benchmarks: ['tinystories'], base: { budget: 3, budgetScore: 'frobenius' } });
    expect(x.cells.map((c) => runLabel(c.config))).toEqual(['budget 3 (frobenius)', 'budget 3 (frobenius)']);
    try {
      expandSweep({ ...grid, template: 'budget', keyAxes: ['quanto-per-channel'] });
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).issues.map((i) => i.field)).toEqual(['keyAxes']);
    }
  });
});
