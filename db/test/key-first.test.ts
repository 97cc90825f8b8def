// Key-first pairing and its standard errors: the formula against hand-computed values, and the query on
// a real Postgres sweep (cells written through writeRunResult, samples included).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandSweep } from '@kvbench/protocol';
import {
  createSweep,
  keyFirstComparison,
  markRunning,
  openTestPostgres,
  pairedDifference,
  pairingKey,
  writeRunResult,
  type DbHandle,
  type RunResultInput,
} from '../src/index';

const items = (kind: 'nll' | 'correct', values: number[]) => ({ kind, values: new Map(values.map((v, i) => [i, v])) });

describe('pairedDifference (hand-computed)', () => {
  it('accuracy: mean and sample stderr of per-item differences', () => {
    // d = [0, 1, 0, 1]: mean 0.5, sample variance 1/3, stderr sqrt(1/3 / 4) = 0.288675
    const r = pairedDifference('accuracy', { value: 0.75, stderr: 0.25, items: items('correct', [1, 1, 0, 1]) }, { value: 0.25, stderr: 0.25, items: items('correct', [1, 0, 0, 0]) });
    expect(r.stderrMethod).toBe('paired');
    expect(r.pairedItems).toBe(4);
    expect(r.difference).toBeCloseTo(0.5, 12);
    expect(r.stderr).toBeCloseTo(Math.sqrt(1 / 12), 12);
  });

  it('perplexity: delta-method paired stderr from per-document NLL, and the NLL-scale difference', () => {
    // ppl 5 vs 6; z = 5*[2, 1, 1.5] - 6*[2.2, 1.4, 1.5] = [-3.2, -3.4, -1.5]: mean -2.7, var 1.09, se sqrt(1.09/3)
    const r = pairedDifference('perplexity', { value: 5, stderr: null, items: items('nll', [2, 1, 1.5]) }, { value: 6, stderr: null, items: items('nll', [2.2, 1.4, 1.5]) });
    expect(r.stderrMethod).toBe('paired');
    expect(r.difference).toBe(-1);
    expect(r.stderr).toBeCloseTo(Math.sqrt(1.09 / 3), 12); // 0.602771
    expect(r.nllDifference).toBeCloseTo(-0.2, 12);
    expect(r.nllDifferenceStderr).toBeCloseTo(Math.sqrt(0.04 / 3), 12); // 0.115470
  });

  it('pairs only the items both runs scored', () => {
    const a = { kind: 'correct' as const, values: new Map([[0, 1], [1, 1], [5, 0], [7, 1]]) };
    const b = { kind: 'correct' as const, values: new Map([[0, 0], [1, 1], [7, 1], [9, 0]]) };
    const r = pairedDifference('accuracy', { value: 0.75, stderr: null, items: a }, { value: 0.5, stderr: null, items: b });
    expect(r.pairedItems).toBe(3); // items 0, 1, 7: d = [1, 0, 0]
    expect(r.difference).toBeCloseTo(1 / 3, 12);
    expect(r.stderr).toBeCloseTo(Math.sqrt(1 / 3 / 3), 12);
  });

  it('falls back to independent sqrt(se1^2 + se2^2) without per-item values, and says so', () => {
    const r = pairedDifference('accuracy', { value: 0.6, stderr: 0.03, items: null }, { value: 0.5, stderr: 0.04, items: null });
    expect(r).toMatchObject({ stderrMethod: 'independent', pairedItems: 0 });
    expect(r.difference).toBeCloseTo(0.1, 12);
    expect(r.stderr).toBeCloseTo(0.05, 12);
    const none = pairedDifference('perplexity', { value: 5, stderr: null, items: null }, { value: 6, stderr: null, items: null });
    expect(none).toMatchObject({ difference: -1, stderr: null, stderrMethod: 'none' });
  });

  it('pairingKey ignores only the bits', () => {
    const base = { model: 'm', benchmark: 'b', backend: 'quanto', keyGroupSize: 8, residualLength: 16 };
    expect(pairingKey({ ...base, keyBits: 4, valueBits: 2 })).toBe(pairingKey({ valueBits: 4, ...base, keyBits: 2 }));
    expect(pairingKey({ ...base, keyBits: 4, valueBits: 2 })).not.toBe(pairingKey({ ...base, keyGroupSize: 16, keyBits: 2, valueBits: 4 }));
  });
});

const result = (ppl: number, nll: number[] | null, stderr: number | null = null): RunResultInput => ({
  metrics: [{ name: 'perplexity', value: ppl, stderr }],
  primary: { name: 'perplexity', value: ppl, stderr },
  layerStats: [],
  samples: nll ? nll.map((v, index) => ({ index, prompt: `doc ${index}`, nll: v })) : [],
  kvBytesPerToken: 100,
  fp16BytesPerToken: 640,
  ratioToFp16: 100 / 640,
  peakRssBytes: 1e8,
  tokensPerSecond: 1000,
  wallSeconds: 1,
  providerUsed: 'cpu',
  device: 'test-cpu',
  versions: {},
  modelArchitecture: 'llama',
  weightsHash: 'w',
  dataHash: 'd',
  benchmarkItems: 3,
  nonFinite: 0,
});

describe('keyFirstComparison on Postgres', () => {
  let h: DbHandle;
  beforeAll(async () => {
    h = await openTestPostgres();
  });
  afterAll(async () => h?.close());

  it('pairs (b, b\') with (b\', b) at equal settings and reports paired and independent stderrs', async () => {
    // Two group sizes: K4V2/K2V4 pair up within each, never across.
    const expansion = expandSweep({ models: ['stories260k'], benchmarks: ['tinystories'], pairs: ['K4V2', 'K2V4', 'K3V3', 'K8V2'], groupSizes: [8, 16], base: { limit: 3 } });
    const { sweep, runs } = await createSweep(h.db, expansion);
    const find = (k: number, v: number, g: number) => runs.find((r) => r.keyBits === k && r.valueBits === v && expansion.cells.find((c) => c.hash === r.hash)!.config.keyGroupSize === g)!;
    const write = async (k: number, v: number, g: number, r: RunResultInput) => {
      const id = find(k, v, g).id;
      await markRunning(h.db, id, 'test');
      expect(await writeRunResult(h.db, id, r)).toBe(true);
    };
    await write(4, 2, 8, result(5, [2, 1, 1.5]));
    await write(2, 4, 8, result(6, [2.2, 1.4, 1.5]));
    await write(4, 2, 16, result(5, null, 0.3)); // no samples: independent stderr
    await write(2, 4, 16, result(4, null, 0.4));
    const report = (await keyFirstComparison(h.db, sweep.id))!;
    expect(report.pairs).toHaveLength(2);
    const g8 = report.pairs.find((p) => p.keyGroupSize === 8)!;
    expect(g8).toMatchObject({ metric: 'perplexity', stderrMethod: 'paired', pairedItems: 3, difference: -1, keyFirstBetter: true });
    expect(g8.keyFirst).toMatchObject({ keyBits: 4, valueBits: 2, value: 5 });
    expect(g8.valueFirst).toMatchObject({ keyBits: 2, valueBits: 4, value: 6 });
    expect(g8.stderr).toBeCloseTo(Math.sqrt(1.09 / 3), 12);
    const g16 = report.pairs.find((p) => p.keyGroupSize === 16)!;
    expect(g16).toMatchObject({ stderrMethod: 'independent', difference: 1, keyFirstBetter: false });
    expect(g16.stderr).toBeCloseTo(0.5, 12);
    // K8V2 has no K2V8 in the sweep (both group sizes); K3V3 is symmetric and never paired.
    expect(report.unpaired.map((u) => `K${u.keyBits}V${u.valueBits}`).sort()).toEqual(['K8V2', 'K8V2']);
    expect(report.summary).toEqual({ pairs: 2, compared: 2, keyFirstBetter: 1, paired: 1, independent: 1 });
    expect(await keyFirstComparison(h.db, '00000000-0000-0000-0000-000000000000')).toBeUndefined();
  });
});
