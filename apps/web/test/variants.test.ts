// Issue 6 items 3-4 through the REST API and the dashboard's data functions: budget / turbo / rotation
// runs are accepted, labelled and planned; a budget run's allocation comes back from GET /api/runs/:id;
// the submit form builds the new fields; labels and variants keep K4V2 and K4V2 WHT apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOCATION_LAYER_METRICS, ALLOCATION_RUN_METRICS, markRunning, writeRunResult, type RunResultInput } from '@kvbench/db';
import * as runsRoute from '../app/api/runs/route';
import * as runRoute from '../app/api/runs/[id]/route';
import * as sweepsRoute from '../app/api/sweeps/route';
import * as boardRoute from '../app/api/leaderboard/route';
import { checkSubmission } from '../app/submit/actions';
import { loadBoard, variantKey } from '../app/_data/board';
import { variantLabel } from '../app/_data/charts';
import { INITIAL_FORM, controlOf, runInput, sweepSpec } from '../components/submit/form-state';
import { runDisplayLabel, variantText } from '../components/format';
import { params, req, setupApi } from './helpers';

let env: Awaited<ReturnType<typeof setupApi>>;
beforeAll(async () => {
  env = await setupApi();
});
afterAll(async () => env?.close());

const small = { model: 'stories260k', benchmark: 'tinystories', limit: 2 };

async function post(body: unknown) {
  const res = await runsRoute.POST(req('POST', '/api/runs', body));
  return { status: res.status, body: await res.json() };
}

function result(value: number, extra: Partial<RunResultInput> = {}): RunResultInput {
  return {
    metrics: [{ name: 'perplexity', value, stderr: null }],
    primary: { name: 'perplexity', value, stderr: null },
    layerStats: [],
    samples: [],
    kvBytesPerToken: 90,
    fp16BytesPerToken: 320,
    ratioToFp16: 90 / 320,
    peakRssBytes: 1e8,
    tokensPerSecond: 1000,
    wallSeconds: 1,
    providerUsed: 'cpu',
    device: 'test',
    versions: {},
    modelArchitecture: 'llama',
    weightsHash: 'w',
    dataHash: 'd',
    benchmarkItems: 2,
    nonFinite: 0,
    ...extra,
  };
}

async function finish(id: string, r: RunResultInput) {
  await markRunning(env.db.db, id, 'test-worker');
  expect(await writeRunResult(env.db.db, id, r)).toBe(true);
}

describe('POST /api/runs with the new fields', () => {
  it('a budget run: bits filled by the rule, an estimated plan, the label', async () => {
    const r = await post({ ...small, budget: 4, budgetScore: 'spectral', bitRange: [8, 6, 4, 2, 1.58, 1] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ keyBits: 4, valueBits: 4, backend: 'quanto', label: 'budget 4 (spectral)' });
    expect(r.body.config).toMatchObject({ budget: 4, bitRange: [1, 1.58, 2, 4, 6, 8], budgetScore: 'spectral', budgetSource: 'weights', groupBudget: null });
    expect(r.body.plan.kvNote).toMatch(/^estimate: a uniform 4 bits/);
  });

  it('turbo and rotation runs are their own runs, with their labels', async () => {
    const plain = await post({ ...small, keyBits: 3, valueBits: 3 });
    const turbo = await post({ ...small, keyBits: 3, valueBits: 3, backend: 'turbo', turboScheme: 'KV' });
    const wht = await post({ ...small, keyBits: 3, valueBits: 3, rotation: 'hadamard' });
    expect(new Set([plain.body.id, turbo.body.id, wht.body.id]).size).toBe(3);
    expect([plain.body.label, turbo.body.label, wht.body.label]).toEqual(['K3V3', 'TQ-KV 3b', 'K3V3 WHT']);
    expect(turbo.body).toMatchObject({ backend: 'turbo', keyGroupSize: null, keyAxis: null });
    // TurboQuant KV at 3 bits on stories260K (5 layers, 4 KV heads, head_dim 8): (3*8 bits + fp16 norm) = 5 B per vector
    expect(turbo.body.plan.kvBytesPerToken).toBe(5 * 4 * 2 * 5);
  });

  it('refuses bad values naming the field', async () => {
    const bad = await post({ ...small, budget: 4, bitRange: [1, 2.5] });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { field: string }) => i.field)).toEqual(['bitRange.1']);
    const rot = await post({ ...small, keyBits: 3, valueBits: 3, backend: 'turbo', rotation: 'hadamard' });
    expect(rot.body.issues.map((i: { field: string }) => i.field)).toEqual(['rotation']);
    const axis = await post({ ...small, budget: 3, keyAxis: 'hqq-per-channel' });
    expect(axis.body.issues.map((i: { field: string }) => i.field)).toEqual(['keyAxis']);
  });
});

describe('GET /api/runs/:id of a finished budget run', () => {
  it('returns the allocation read back from the stored rows', async () => {
    const r = await post({ ...small, budget: 3, budgetScore: 'frobenius', groupBudget: 32 });
    const layerStats: RunResultInput['layerStats'] = [];
    const bits = [[4, 2], [2, 1.58], [6, 2]];
    bits.forEach(([k, v], layer) => {
      layerStats.push({ layer, tensor: 'k', metric: ALLOCATION_LAYER_METRICS.bits, value: k }, { layer, tensor: 'v', metric: ALLOCATION_LAYER_METRICS.bits, value: v });
      layerStats.push({ layer, tensor: 'k', metric: ALLOCATION_LAYER_METRICS.groupSize, value: 16 }, { layer, tensor: 'v', metric: ALLOCATION_LAYER_METRICS.groupSize, value: 64 });
      layerStats.push({ layer, tensor: 'k', metric: 'attn.klMean', value: 0.01 * (layer + 1) });
    });
    await finish(r.body.id, result(11, { layerStats, metrics: [{ name: 'perplexity', value: 11 }, { name: ALLOCATION_RUN_METRICS.storedBitsPerElementHqq, value: 4.2 }] }));
    const res = await runRoute.GET(req('GET', `/api/runs/${r.body.id}`), params({ id: r.body.id }));
    const view = await res.json();
    expect(view.label).toBe('budget 3 (frobenius, G32)');
    expect(view.allocation).toMatchObject({ budget: 3, score: 'frobenius', source: 'weights', groupBudget: 32, storedBitsPerElementHqq: 4.2, storedBitsPerElement: null });
    expect(view.allocation.layers.map((l: { keyBits: number; valueBits: number }) => [l.keyBits, l.valueBits])).toEqual(bits);
    expect(view.allocation.layers[1]).toMatchObject({ keyGroupSize: 16, valueGroupSize: 64, keySensitivity: null });
    expect(view.layerStats.filter((l: { metric: string }) => l.metric === 'attn.klMean')).toHaveLength(3);
    // a plain run has none
    const plain = await post({ ...small, keyBits: 2, valueBits: 2 });
    const plainView = await (await runRoute.GET(req('GET', `/api/runs/${plain.body.id}`), params({ id: plain.body.id }))).json();
    expect(plainView.allocation).toBeNull();
  });
});

describe('leaderboard and sweeps', () => {
  it('rows carry label and variant; backend=turbo filters; K4V2 pairs with K2V4 of the same rotation only', async () => {
    const ids: Record<string, string> = {};
    for (const [name, body] of Object.entries({
      k4v2: { ...small, keyBits: 4, valueBits: 2 },
      k2v4wht: { ...small, keyBits: 2, valueBits: 4, rotation: 'hadamard' },
      k4v2wht: { ...small, keyBits: 4, valueBits: 2, rotation: 'hadamard' },
      tq: { ...small, keyBits: 4, valueBits: 2, backend: 'turbo' },
    })) {
      ids[name] = (await post(body)).body.id;
      await finish(ids[name], result(10));
    }
    const turbo = await (await boardRoute.GET(req('GET', '/api/leaderboard?backend=turbo'))).json();
    expect(turbo.rows.map((r: { label: string }) => r.label)).toEqual(['TQ-KQV K4V2']);
    const board = await loadBoard(env.db.db, new URLSearchParams('bits=K4V2'));
    const byId = new Map(board.rows.map((r) => [r.id, r]));
    expect(byId.get(ids.k4v2wht)).toMatchObject({ label: 'K4V2 WHT', variant: { rotation: 'hadamard' }, partnerId: ids.k2v4wht, partnerLabel: 'K2V4 WHT' });
    // the plain K4V2 has no plain K2V4 partner: the rotated K2V4 is another setting
    expect(byId.get(ids.k4v2)!.partnerId).toBeNull();
    expect(variantLabel(byId.get(ids.k4v2wht)!)).toMatch(/^quanto K:tok\/64 V:tok\/64 WHT R128 n2$/);
    expect(variantLabel(byId.get(ids.tq)!)).toBe('turbo TurboQuant KQV R128 n2');
    expect(variantKey(byId.get(ids.k4v2)!)).not.toBe(variantKey(byId.get(ids.k4v2wht)!));
  });

  it('previews the budget and turbo templates', async () => {
    const preview = async (spec: unknown) => (await sweepsRoute.POST(req('POST', '/api/sweeps?preview=1', spec))).json();
    const b = await preview({ models: ['stories260k'], benchmarks: ['tinystories'], template: 'budget', base: { limit: 2 } });
    expect(b.cells).toBe(6);
    const t = await preview({ models: ['stories260k'], benchmarks: ['tinystories'], template: 'turbo', base: { limit: 2 } });
    expect(t.cells).toBe(12);
  });
});

describe('submit form', () => {
  it('budget mode sends no bits, and the budget fields (in base for a sweep)', () => {
    const f = { ...INITIAL_FORM, budget: '3', bitRange: '1,2,4', budgetScore: 'frobenius', groupBudget: '64' };
    expect(runInput({ ...f, mode: 'single' })).toMatchObject({ keyBits: undefined, valueBits: undefined, budget: 3, bitRange: [1, 2, 4], budgetScore: 'frobenius', budgetSource: 'weights', groupBudget: 64 });
    const spec = sweepSpec(f);
    expect(spec.keyBits).toBeUndefined();
    expect(spec.base).toMatchObject({ budget: 3, bitRange: [1, 2, 4], budgetScore: 'frobenius', groupBudget: 64 });
    // no budget: nothing new is sent
    expect(Object.keys(sweepSpec(INITIAL_FORM).base as object).sort()).toEqual(['limit', 'maxTokens', 'prompt', 'provider']);
    expect(runInput({ ...INITIAL_FORM, backends: ['turbo'], rotation: 'hadamard' })).toMatchObject({ turboScheme: 'KQV', rotation: 'hadamard' });
    expect(controlOf('base.bitRange.2')).toBe('bitRange');
    expect(controlOf('turboScheme')).toBe('turboScheme');
    // float16 compute is sent only when chosen, for a run and in a sweep's base
    expect(runInput({ ...INITIAL_FORM, mode: 'single', computeDtype: 'float16' })).toMatchObject({ computeDtype: 'float16' });
    expect(sweepSpec({ ...INITIAL_FORM, computeDtype: 'float16' }).base).toMatchObject({ computeDtype: 'float16' });
    expect(runInput({ ...INITIAL_FORM, mode: 'single' })).not.toHaveProperty('computeDtype');
    expect(controlOf('base.computeDtype')).toBe('computeDtype');
  });

  it('the live check accepts a budget sweep and labels its memory rows; errors land on the new controls', async () => {
    const ok = await checkSubmission('sweep', sweepSpec({ ...INITIAL_FORM, budget: '3' }));
    expect(ok.issues).toEqual([]);
    expect(ok.cells).toBe(1);
    expect(ok.memory[0]).toMatchObject({ bits: 'budget 3 (spectral)' });
    expect(ok.memory[0].quantizer).toMatch(/uniform estimate/);
    const bad = await checkSubmission('sweep', sweepSpec({ ...INITIAL_FORM, budget: '3', bitRange: '1,2.5,4' }));
    expect(bad.issues.map((i) => controlOf(i.field))).toContain('bitRange');
    const turbo = await checkSubmission('single', runInput({ ...INITIAL_FORM, mode: 'single', keyBits: ['3'], valueBits: ['3'], backends: ['turbo'], turboScheme: 'QKQV' }));
    expect(turbo.memory[0]).toMatchObject({ bits: 'TQ-QKQV 3b', quantizer: 'turbo QKQV' });
  });
});

describe('labels in the dashboard', () => {
  it('fp16 for full precision, the server label otherwise; variants in words', () => {
    expect(runDisplayLabel({ keyBits: 16, valueBits: 16, label: 'K16V16' })).toBe('fp16');
    expect(runDisplayLabel({ keyBits: 4, valueBits: 4, label: 'budget 4 (spectral)' })).toBe('budget 4 (spectral)');
    expect(runDisplayLabel({ keyBits: 4, valueBits: 2 })).toBe('K4V2');
    expect(variantText({})).toBe('');
    expect(variantText({ budget: 4, budgetScore: 'spectral', budgetSource: 'cache', bitRange: [1, 2, 4], groupBudget: 64, rotation: 'hadamard' })).toBe('budget spectral (cache, 1,2,4, G~64) WHT');
  });
});
