// Issue 6 items 3-4 in the worker: rotation / turbo / budget configs -> the engine's CachePolicy, and a
// budget run's allocation -> run_metrics and layer_stats (end to end through the queue and Postgres).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRunDetail, openTestPostgres, type DbHandle } from '@kvbench/db';
import * as engine from '@kvbench/engine';
import { evaluate, generateRandomModel, type EvalOptions, type EvalResult } from '@kvbench/engine';
import { parseRunConfig } from '@kvbench/protocol';
import { RunQueues, startInferenceWorker, type InferenceWorker } from '../src/index';
import { cacheRowsSetting, toEvalOptions } from '../src/eval-options';
import { EvaluationHosts, RESERVE_MIN_TOKENS, routeForRows } from '../src/evaluation-hosts';
import { ALLOCATION_METRICS, allocationRows, resultRows } from '../src/result';
import { dropQueues, submitRun, uniquePrefix, waitForStatus } from './harness';

const small = { model: 'stories260k', benchmark: 'tinystories', keyGroupSize: 8, valueGroupSize: 8, residualLength: 16, prompt: 16, maxTokens: 48, limit: 2 };
const PLAIN_CACHE_KEYS = ['mode', 'prefill', 'quant', 'residualLength', 'residualMode'];

describe("the worker's cache rows (KVBENCH_KV_ROWS, routeForRows)", () => {
  const config = parseRunConfig({ ...small, keyBits: 4, valueBits: 2 });
  let qwen3: string; // head_dim 16: fused attention on WebGPU, so its runs can reserve rows
  beforeAll(() => {
    qwen3 = generateRandomModel({ preset: 'tiny-qwen3-qknorm', outDir: join(mkdtempSync(join(tmpdir(), 'kvbench-rows-')), 'model'), seed: 5 }).dir;
  });
  // Long enough for 'auto' to reserve (RESERVE_MIN_TOKENS; the config is only routed, never run).
  const webgpu = (over: Record<string, unknown> = {}) => ({ ...toEvalOptions(parseRunConfig({ ...small, keyBits: 4, valueBits: 2, provider: 'webgpu', maxTokens: RESERVE_MIN_TOKENS, ...over }), {}), model: qwen3 });

  it('computeDtype float16 becomes EvalOptions.dtype; a config without it maps to no dtype (float32)', () => {
    expect(toEvalOptions(parseRunConfig({ ...small, keyBits: 4, valueBits: 2, computeDtype: 'float16' }), {}).dtype).toBe('float16');
    expect(toEvalOptions(config, {}).dtype).toBeUndefined();
  });

  it('auto by default; rejects an unknown setting, naming the variable', () => {
    expect(cacheRowsSetting({})).toBe('auto');
    expect(cacheRowsSetting({ KVBENCH_KV_ROWS: 'exact' })).toBe('exact');
    expect(() => cacheRowsSetting({ KVBENCH_KV_ROWS: 'padded' })).toThrow(/KVBENCH_KV_ROWS: got "padded", allowed: exact, reserve, auto/);
    const o = toEvalOptions(config, {});
    expect([o.kvRows, o.sessionOptions]).toEqual([undefined, undefined]); // rows are the hosts' business
  });

  it('auto: long WebGPU runs that can reserve go to the process lane with reserved rows and the size-exact cache; the rest stay in a thread as they are', () => {
    const auto = routeForRows('auto');
    const reservable = webgpu();
    expect(auto(reservable, engine)).toEqual({ lane: 'process', options: { ...reservable, kvRows: 'reserve', sessionOptions: { executionProviders: [{ name: 'webgpu', storageBufferCacheMode: 'simple' }] } } });
    expect(auto(webgpu({ keyBits: 16, valueBits: 16 }), engine).lane).toBe('process'); // the fp16 cache
    for (const stays of [webgpu({ maxTokens: RESERVE_MIN_TOKENS - 1 }), webgpu({ keyAxis: 'per-channel' }), webgpu({ cacheMode: 'simulated' }), { ...webgpu(), model: 'stories260k' }, { ...webgpu(), provider: 'cpu' as const }, { ...webgpu(), provider: 'cuda' as const }, { ...webgpu(), model: '/no/such/model' }]) {
      expect(auto(stays, engine)).toEqual({ lane: 'thread', options: stays });
    }
  });

  it('exact keeps every run in a thread; reserve sends every WebGPU run to the process lane', () => {
    expect(routeForRows('exact')(webgpu(), engine).lane).toBe('thread');
    const perChannel = webgpu({ keyAxis: 'per-channel' });
    expect(routeForRows('reserve')(perChannel, engine)).toMatchObject({ lane: 'process', options: { kvRows: 'reserve' } });
    expect(routeForRows('reserve')({ ...perChannel, provider: 'cpu' }, engine).lane).toBe('thread');
  });

  it("an evaluation with kvRows 'auto' runs where reserving is impossible (stories260K: plain attention) and rejects unknown values", async () => {
    const o: EvalOptions = { ...toEvalOptions(config, {}), kvRows: 'auto' };
    const result = await evaluate({ ...o, limit: 1, maxTokens: 24 });
    expect(result.metrics.scoredTokens).toBeGreaterThan(0);
    expect(result.protocolRecord).toMatchObject({ kvRows: 'exact' });
    expect(result.device).not.toMatch(/reserved/);
    await expect(evaluate({ ...o, kvRows: 'padded' as never })).rejects.toThrow(/kvRows: got "padded"/);
  });

  it('the hosts run each lane where it belongs and close the idle host of the other lane when a lane takes a job', async () => {
    // A route by value bits stands in for the WebGPU test (this machine has no GPU): the lanes themselves are real.
    const hosts = new EvaluationHosts(1, {}, (options) => ({ lane: options.cache.quant?.value.bits === 2 ? 'process' : 'thread', options }));
    try {
      const k4v2 = { ...toEvalOptions(config, {}), limit: 1, maxTokens: 24 };
      const k4v4 = { ...k4v2, cache: { ...k4v2.cache, quant: { ...k4v2.cache.quant!, value: { ...k4v2.cache.quant!.value, bits: 4 } } } };
      const inProcess = await hosts.evaluate(k4v2);
      const [processLane] = hosts.lanes();
      expect(processLane).toMatchObject({ lane: 'process', loadedModels: ['stories260k'] });
      expect(processLane.pid).not.toBe(process.pid);
      expect((await hosts.evaluate(k4v2)).metrics).toEqual(inProcess.metrics);
      expect(hosts.stats()).toMatchObject({ threadStarts: 1, modelLoads: 1, modelHits: 1 });

      await hosts.evaluate(k4v4);
      expect(hosts.lanes()).toEqual([{ lane: 'thread', pid: process.pid, loadedModels: ['stories260k'] }]);
      for (let i = 0; i < 100 && isAlive(processLane.pid); i++) await new Promise((r) => setTimeout(r, 50));
      expect(isAlive(processLane.pid)).toBe(false); // one copy of the weights at a time
      expect(hosts.stats()).toMatchObject({ threadStarts: 2, modelLoads: 2, jobs: 3 });
    } finally {
      await hosts.close();
    }
  });
});

describe('toEvalOptions: the cache variants', () => {
  it('a plain config maps to exactly the options it always did (no new keys)', () => {
    const o = toEvalOptions(parseRunConfig({ ...small, keyBits: 4, valueBits: 2 }));
    expect(Object.keys(o.cache).sort()).toEqual(PLAIN_CACHE_KEYS);
    expect(Object.keys(toEvalOptions(parseRunConfig({ ...small, keyBits: 16, valueBits: 16 })).cache).sort()).toEqual(PLAIN_CACHE_KEYS);
  });

  it('rotation: a seeded Walsh-Hadamard option next to the grouped quantizer', () => {
    const o = toEvalOptions(parseRunConfig({ ...small, keyBits: 4, valueBits: 2, rotation: 'hadamard', seed: 11 }));
    expect(o.cache.rotation).toEqual({ kind: 'hadamard', seed: 11 });
    expect(o.cache.quant!.key).toMatchObject({ bits: 4, backend: 'quanto', groupSize: 8 });
    expect(o.cache.turbo).toBeUndefined();
    expect(o.cache.budget).toBeUndefined();
  });

  it('turbo: the scheme and seed, bits in quant.key.bits / quant.value.bits', () => {
    const o = toEvalOptions(parseRunConfig({ ...small, keyBits: 3, valueBits: 2, backend: 'turbo', turboScheme: 'QKQV', seed: 5 }));
    expect(o.cache.turbo).toEqual({ scheme: 'QKQV', seed: 5 });
    expect(o.cache.quant).not.toBeNull();
    expect([o.cache.quant!.key.bits, o.cache.quant!.value.bits]).toEqual([3, 2]);
    expect(o.cache.rotation).toBeUndefined();
    expect(toEvalOptions(parseRunConfig({ ...small, keyBits: 3, valueBits: 3, backend: 'turbo' })).cache.turbo).toEqual({ scheme: 'KQV', seed: 0 });
  });

  it('budget: the allocator options, and the uniform quantizer it starts from', () => {
    const o = toEvalOptions(parseRunConfig({ ...small, budget: 3, budgetScore: 'frobenius', budgetSource: 'cache', backend: 'hqq', keyAxis: 'per-channel' }));
    expect(o.cache.budget).toEqual({ bits: 3, bitRange: [1, 1.58, 2, 4, 6, 8], score: 'frobenius', source: 'cache', groupBudget: null });
    expect(o.cache.quant!.key).toMatchObject({ bits: 3, backend: 'hqq', axis: 'per-channel', groupSize: 8 });
    const g = toEvalOptions(parseRunConfig({ ...small, budget: 4, groupBudget: 32 }));
    expect(g.cache.budget).toMatchObject({ bits: 4, score: 'spectral', source: 'weights', groupBudget: 32 });
    expect(g.cache.quant!.value.groupSize).toBe(32);
  });
});

/** What an allocator might choose for stories260K's 5 layers at budget 3 (the numbers only need to be consistent). */
const ALLOCATION: NonNullable<EvalResult['allocation']> = {
  budget: 3,
  bitRange: [1, 1.58, 2, 4, 6, 8],
  score: 'spectral',
  source: 'weights',
  groupBudget: null,
  keyBits: [4, 4, 6, 4, 2],
  valueBits: [2, 1.58, 2, 2, 2],
  keyGroupSizes: [8, 8, 8, 8, 8],
  valueGroupSizes: [8, 8, 8, 8, 8],
  keySensitivities: [3.1, 2.9, 4.2, 3.3, 1.2],
  valueSensitivities: [1.1, 0.7, 1.3, 1.0, 0.9],
  nominalBits: 2.958,
  storedBitsPerElement: 7,
  storedBitsPerElementHqq: 7.4,
};

describe('resultRows: the allocation', () => {
  it('becomes alloc.* layer rows and run metrics; the allocation wins over the engine rows of the same name', () => {
    const rows = allocationRows(ALLOCATION);
    expect(rows.layerStats).toHaveLength(5 * 2 * 3);
    expect(rows.layerStats.filter((l) => l.metric === 'alloc.bits' && l.tensor === 'v').map((l) => l.value)).toEqual([2, 1.58, 2, 2, 2]);
    expect(rows.metrics).toEqual([
      { name: ALLOCATION_METRICS.nominalBits, value: 2.958, stderr: null },
      { name: ALLOCATION_METRICS.storedBitsPerElement, value: 7, stderr: null },
      { name: ALLOCATION_METRICS.storedBitsPerElementHqq, value: 7.4, stderr: null },
    ]);
    const config = parseRunConfig({ ...small, budget: 3 });
    const engineRows = [
      { layer: 0, tensor: 'k' as const, metric: 'alloc.bits', value: 99 },
      { layer: 0, tensor: 'k' as const, metric: 'attn.klMean', value: 0.01 },
    ];
    const result = { ...fakeResult(), layerStats: engineRows, allocation: ALLOCATION };
    const stored = resultRows(result, config);
    const bits00 = stored.layerStats.filter((l) => l.layer === 0 && l.tensor === 'k' && l.metric === 'alloc.bits');
    expect(bits00).toEqual([{ layer: 0, tensor: 'k', metric: 'alloc.bits', value: 4 }]);
    expect(stored.layerStats.find((l) => l.metric === 'attn.klMean')?.value).toBe(0.01);
    expect(stored.metrics.map((m) => m.name)).toEqual(expect.arrayContaining(['perplexity', 'alloc.nominalBits']));
    // no allocation, no alloc rows
    expect(resultRows({ ...fakeResult(), layerStats: engineRows }, parseRunConfig({ ...small, keyBits: 4, valueBits: 2 })).metrics.some((m) => m.name.startsWith('alloc.'))).toBe(false);
  });
});

function fakeResult(): EvalResult {
  return {
    metrics: { perplexity: 12.5, kl: 0.01 },
    memory: { kvBytesPerToken: 100, fp16BytesPerToken: 320, ratioToFp16: 0.3125, peakRssBytes: 1e8 },
    speed: { tokensPerSecond: 100, wallSeconds: 1 },
    provider: 'cpu',
    device: 'test',
    config: {} as EvalOptions,
    model: { name: 'stories260k', architecture: 'llama', weightsHash: 'w' },
    benchmark: { name: 'tinystories', dataHash: 'd', items: 2 },
    versions: {},
    layerStats: [],
    samples: [],
    nonFinite: 0,
  };
}

describe('budget and TurboQuant runs through the worker (real queue, Postgres and engine)', () => {
  let db: DbHandle;
  let queues: RunQueues;
  let w: InferenceWorker;
  const prefix = uniquePrefix();
  const seen: EvalOptions[] = [];
  const results: EvalResult[] = [];
  let dropAllocation = false;

  beforeAll(async () => {
    db = await openTestPostgres();
    queues = new RunQueues({ prefix });
    w = await startInferenceWorker({
      db: db.db,
      deviceClass: 'cpu',
      prefix,
      reconcileIntervalMs: 0,
      progressIntervalMs: 0,
      log: () => {},
      // The real engine; the hook records what it was given and got, and can drop the allocation (last test).
      evaluate: async (opts, controls) => {
        seen.push(opts);
        const result = await evaluate(opts, controls);
        results.push(result);
        if (!dropAllocation) return result;
        const { allocation: _dropped, ...rest } = result;
        return rest;
      },
    });
  });
  afterAll(async () => {
    await w?.drain();
    await dropQueues(queues, prefix);
    await db?.close();
  });

  it('stores the per-layer allocation in layer_stats and its figures in run_metrics', async () => {
    const run = await submitRun(db.db, queues, { ...small, budget: 3 });
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', keyBits: 3, valueBits: 3 });
    expect(seen.at(-1)!.cache.budget).toEqual({ bits: 3, bitRange: [1, 1.58, 2, 4, 6, 8], score: 'spectral', source: 'weights', groupBudget: null });
    const detail = (await getRunDetail(db.db, run.id))!;
    const allocation = results.at(-1)!.allocation!;
    expect(allocation.nominalBits).toBeCloseTo(3, 9);
    const layer = (metric: string, tensor: 'k' | 'v') => detail.layerStats.filter((l) => l.metric === metric && l.tensor === tensor).sort((a, b) => a.layer - b.layer).map((l) => l.value);
    expect(layer('alloc.bits', 'k')).toEqual(allocation.keyBits);
    expect(layer('alloc.bits', 'v')).toEqual(allocation.valueBits);
    expect(layer('alloc.groupSize', 'v')).toEqual(allocation.valueGroupSizes);
    expect(layer('alloc.sensitivity', 'k')).toEqual(allocation.keySensitivities);
    const metric = (name: string) => detail.metrics.find((m) => m.name === name)?.value;
    expect(metric('alloc.nominalBits')).toBeCloseTo(3, 9);
    expect(metric('alloc.storedBitsPerElementHqq')).toBe(allocation.storedBitsPerElementHqq);
    // the engine's own per-layer statistics and attention metrics are kept next to them
    expect(layer('attn.klMean', 'k')).toHaveLength(5);
    expect(detail.layerStats.some((l) => l.metric === 'meanNorm')).toBe(true);
  });

  it('a TurboQuant KQV run stores the packed bytes the accounting gives and its attention metrics', async () => {
    const run = await submitRun(db.db, queues, { ...small, backend: 'turbo', turboScheme: 'KQV', keyBits: 3, valueBits: 3 });
    const done = await waitForStatus(db.db, run.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(seen.at(-1)!.cache.turbo).toEqual({ scheme: 'KQV', seed: 0 });
    // Per head vector (head_dim 8): K mse 3·8/8 + 2 (fp16 ν) = 5 bytes; V prod 2·8/8 + 8/8 + 2·2 (ν, γ) = 7; x 4 KV heads x 5 layers.
    expect(done.kvBytesPerToken).toBe((5 + 7) * 4 * 5);
    const detail = (await getRunDetail(db.db, run.id))!;
    expect(detail.layerStats.filter((l) => l.metric === 'attn.outputRelError')).toHaveLength(5);
  });

  it('fails a budget run as a bad config when the engine returns no allocation (it ran something else)', async () => {
    dropAllocation = true;
    const run = await submitRun(db.db, queues, { ...small, budget: 4, budgetScore: 'frobenius' });
    const failed = await waitForStatus(db.db, run.id, ['succeeded', 'failed']);
    expect(failed).toMatchObject({ status: 'failed', errorKind: 'config' });
    expect(failed.error).toMatch(/cache\.budget: .*no allocation/);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
