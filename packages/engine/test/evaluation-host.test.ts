// EvaluationHost: one long-lived evaluation thread that keeps models and ORT sessions between jobs. Real
// stories260K and a generated tiny Hugging Face model; the counters come from host.stats().
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationHost, evaluate, generateRandomModel, type EvalOptions, type EvalProgress, type EvaluationHost } from '../src';

const quantizer = (bits: number) => ({ bits, backend: 'quanto' as const, axis: 'per-token' as const, groupSize: 8, metaDtype: 'fp16' as const, hqqMode: 'faithful' as const });
const small = (over: Partial<EvalOptions> = {}): EvalOptions => ({
  model: 'stories260k',
  data: 'tinystories',
  protocol: 'ppl-decode',
  prompt: 8,
  maxTokens: 24,
  limit: 2,
  cache: { quant: { key: quantizer(4), value: quantizer(2) }, residualLength: 8, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' },
  provider: 'cpu',
  ...over,
});

const hosts: EvaluationHost[] = [];
const newHost = (...args: Parameters<typeof createEvaluationHost>) => {
  const host = createEvaluationHost(...args);
  hosts.push(host);
  return host;
};
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

let tinyModel: string;
beforeAll(() => {
  tinyModel = generateRandomModel({ preset: 'tiny-llama-mha', outDir: join(mkdtempSync(join(tmpdir(), 'kvbench-host-')), 'model'), seed: 3 }).dir;
});

describe('EvaluationHost', () => {
  it('runs jobs back to back in one thread, loading the model once, with the same numbers as evaluate()', async () => {
    const host = newHost();
    const progress: EvalProgress[] = [];
    const t0 = performance.now();
    const first = await host.evaluate(small({ seed: 1 }), { onProgress: (p) => progress.push(p) });
    const t1 = performance.now();
    const second = await host.evaluate(small({ seed: 2 }));
    const t2 = performance.now();
    const third = await host.evaluate(small({ seed: 3, cache: { ...small().cache, quant: { key: quantizer(2), value: quantizer(4) } } }));
    const t3 = performance.now();
    console.log(
      `host jobs: first ${(t1 - t0).toFixed(0)} ms (thread start, model load, sessions built), ` +
        `second ${(t2 - t1).toFixed(0)} ms (model and both sessions reused), third ${(t3 - t2).toFixed(0)} ms (new bit split: one new session)`,
    );

    expect(progress.at(-1)).toMatchObject({ itemsDone: 2, itemsTotal: 2, etaSeconds: 0 });
    expect(first.model.name).toBe('stories260k');
    // ppl-decode steps through each document after its prompt: the median decode step is recorded.
    expect(first.speed.decodeStepMs).toBeGreaterThan(0);
    expect(first.speed.decodeStepMs).toBeLessThan(first.speed.wallSeconds * 1000);
    expect(first.config).toEqual(small({ seed: 1 }));
    expect(host.stats()).toMatchObject({ threadStarts: 1, threadsReplaced: 0, jobs: 3, modelLoads: 1, modelHits: 2, loadedModels: ['stories260k'], busy: false });
    // The full-precision session serves every job; a new bit split opens one new session (at most 2 alive).
    expect(host.stats()).toMatchObject({ sessionCreates: 3, sessionReuses: 3, sessionDisposals: 1 });
    // The float64 cache sample (attention metrics) is the same for every job of one model and data set: computed once.
    expect(host.stats().sampleHits).toBe(2);
    expect(host.holds('stories260k')).toBe(true);

    // Pooled sessions are cleared between jobs: the numbers equal a fresh thread's.
    const fresh = await evaluate(small({ seed: 2 }));
    expect(second.metrics).toEqual(fresh.metrics);
    expect(second.memory.kvBytesPerToken).toBe(fresh.memory.kvBytesPerToken);
    expect(second.nonFinite).toBe(fresh.nonFinite);
    expect(second.layerStats).toEqual(fresh.layerStats);
    expect(second.samples).toEqual(fresh.samples);
    expect(third.config.cache.quant!.key.bits).toBe(2);
  });

  it('an aborted job leaves the thread ready for the next one; a waiting job is dropped at once', async () => {
    const host = newHost();
    await host.evaluate(small()); // warm: thread and model
    const controller = new AbortController();
    const running = host.evaluate(small({ limit: 40, maxTokens: 128 }), { signal: controller.signal, onProgress: () => controller.abort() });
    const waiting = new AbortController();
    const queued = host.evaluate(small(), { signal: waiting.signal });
    expect(host.stats().queued).toBe(1);
    waiting.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    const after = await host.evaluate(small({ seed: 9 }));
    expect(after.benchmark.items).toBe(2);
    expect(host.stats()).toMatchObject({ threadStarts: 1, threadsReplaced: 0, modelLoads: 1 });
  });

  it('a failing job and a crashed thread do not poison the next job', async () => {
    const host = newHost();
    await expect(host.evaluate(small({ limit: 0 }))).rejects.toThrow(/limit: got 0, allowed: an integer >= 1/);
    expect(host.stats().threadStarts).toBe(0); // bad options never reach the thread
    await expect(host.evaluate(small({ data: 'mmlu' }))).rejects.toThrow(/data: "mmlu" is not a bundled benchmark/);
    await expect(host.evaluate(small({ model: '/no/such/model' }))).rejects.toThrow(/no such file or directory/);
    expect((await host.evaluate(small())).benchmark.items).toBe(2);
    expect(host.stats()).toMatchObject({ threadStarts: 1, threadsReplaced: 0 });

    await expect(host.evaluate(small(), {}, { crashThread: true })).rejects.toThrow(/crashed on request/);
    expect(host.stats()).toMatchObject({ threadStarts: 1, threadsReplaced: 1, loadedModels: [] });
    expect((await host.evaluate(small())).benchmark.items).toBe(2);
    // A fresh thread: it loads the model again; counters of the dead thread's last job are kept.
    expect(host.stats()).toMatchObject({ threadStarts: 2, threadsReplaced: 1, modelLoads: 2 });
  });

  it('a job past its deadline rejects, and a thread that does not stop within the grace period is replaced', async () => {
    // The reference engine is plain JS, so terminating its thread mid-job is safe (an ORT call is not).
    const host = newHost({ jobTimeoutMs: 1, abortGraceMs: 1 });
    await expect(host.evaluate(small(), {}, { engine: 'reference' })).rejects.toMatchObject({ name: 'EvaluationTimeoutError', message: /exceeded jobTimeoutMs \(1 ms\)/ });
    for (let i = 0; i < 100 && host.stats().threadsReplaced === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(host.stats()).toMatchObject({ threadStarts: 1, threadsReplaced: 1, busy: false });
  });

  it('evicts the least recently used model beyond maxModels, with its sessions', async () => {
    const host = newHost({ maxModels: 1 });
    const tiny = small({ model: tinyModel, cache: { ...small().cache, quant: { key: quantizer(4), value: quantizer(4) } } });
    await host.evaluate(small());
    const hf = await host.evaluate(tiny);
    expect(hf.model.architecture).toBe('LlamaForCausalLM');
    expect(host.stats()).toMatchObject({ modelLoads: 2, modelEvictions: 1, loadedModels: [tinyModel] });
    await host.evaluate(small());
    let s = host.stats();
    expect(s).toMatchObject({ modelLoads: 3, modelEvictions: 2, loadedModels: ['stories260k'] });
    expect(s.sessionDisposals).toBeGreaterThanOrEqual(4); // each eviction closes that model's two sessions

    const two = newHost({ maxModels: 2 });
    await two.evaluate(small());
    await two.evaluate(tiny);
    await two.evaluate(small());
    s = two.stats();
    expect(s).toMatchObject({ modelLoads: 2, modelHits: 1, modelEvictions: 0, loadedModels: [tinyModel, 'stories260k'] });
  });
});

describe("EvaluationHost with isolation 'process'", () => {
  it('runs jobs in a child process of its own, with the same numbers as a thread, and hears aborts there', async () => {
    const host = newHost({ isolation: 'process' });
    const progress: EvalProgress[] = [];
    const first = await host.evaluate(small({ seed: 2 }), { onProgress: (p) => progress.push(p) });
    const pid = host.stats().pid;
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    expect(progress.at(-1)).toMatchObject({ itemsDone: 2, itemsTotal: 2 });
    const inThread = await newHost().evaluate(small({ seed: 2 }));
    expect(first.metrics).toEqual(inThread.metrics);
    expect(first.layerStats).toEqual(inThread.layerStats);

    // No shared memory with a process: the abort travels as a message and stops the job between steps.
    const controller = new AbortController();
    const running = host.evaluate(small({ limit: 40, maxTokens: 128 }), { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect((await host.evaluate(small({ seed: 3 }))).benchmark.items).toBe(2);
    expect(host.stats()).toMatchObject({ threadStarts: 1, threadsReplaced: 0, modelLoads: 1, modelHits: 2, pid });
  });

  it('starts a fresh process for another model, and replaces one that dies', async () => {
    const host = newHost({ isolation: 'process', maxModels: 2 });
    await host.evaluate(small());
    const first = host.stats().pid;
    const tiny = small({ model: tinyModel, cache: { ...small().cache, quant: { key: quantizer(4), value: quantizer(4) } } });
    expect((await host.evaluate(tiny)).model.architecture).toBe('LlamaForCausalLM');
    const second = host.stats();
    // What ONNX Runtime keeps in a process outlives its sessions: another model means another process.
    expect(second).toMatchObject({ threadStarts: 2, threadsReplaced: 0, processesRecycled: 1, modelLoads: 2, loadedModels: [tinyModel] });
    expect(second.pid).not.toBe(first);
    expect(() => process.kill(first, 0)).toThrow(); // the first process is gone

    await expect(host.evaluate(tiny, {}, { crashThread: true })).rejects.toThrow(/crashed on request|exited with code/);
    expect(host.stats()).toMatchObject({ threadStarts: 2, threadsReplaced: 1, loadedModels: [] });
    expect((await host.evaluate(tiny)).benchmark.items).toBe(2);
    expect(host.stats()).toMatchObject({ threadStarts: 3, threadsReplaced: 1, processesRecycled: 1 });
    const last = host.stats().pid;
    await host.close();
    expect(() => process.kill(last, 0)).toThrow(); // close ends the process
  });

  it('rejects an unknown isolation, naming the field', () => {
    expect(() => createEvaluationHost({ isolation: 'container' as never })).toThrow(/isolation: got "container", allowed: thread, process/);
  });
});
