// evaluate(): runs in a worker thread (the caller's event loop stays free), posts progress, records the
// full result, cancels promptly on abort, and reports bad options naming the field.
import { describe, expect, it } from 'vitest';
import { evaluate, type EvalOptions, type EvalProgress } from '../src';

const small = (over: Partial<EvalOptions> = {}): EvalOptions => ({
  model: 'stories260k',
  data: 'tinystories',
  protocol: 'ppl-decode',
  prompt: 16,
  maxTokens: 48,
  limit: 4,
  cache: {
    quant: {
      key: { bits: 4, backend: 'quanto', axis: 'per-token', groupSize: 8, metaDtype: 'fp16', hqqMode: 'faithful' },
      value: { bits: 2, backend: 'quanto', axis: 'per-token', groupSize: 8, metaDtype: 'fp16', hqqMode: 'faithful' },
    },
    residualLength: 8,
    prefill: 'quantize-all',
    residualMode: 'append',
    mode: 'packed',
  },
  provider: 'cpu',
  ...over,
});

describe('evaluate', () => {
  it('runs in a worker thread with progress and returns the full record', async () => {
    const progress: EvalProgress[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    const result = await evaluate(small(), { onProgress: (p) => progress.push(p) }, { engine: 'reference' });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    // The main loop kept ticking while the thread computed (a blocked loop would tick a handful of times).
    expect(ticks).toBeGreaterThan(Math.min(20, seconds * 50));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toMatchObject({ itemsDone: 4, itemsTotal: 4, etaSeconds: 0 });
    expect(progress[progress.length - 1].tokensPerSecond).toBeGreaterThan(0);

    expect(result.engine).toBe('reference');
    expect(result.provider).toBe('cpu');
    expect(result.device).toMatch(/cores/);
    expect(result.model).toEqual({ name: 'stories260k', architecture: 'llama2c', weightsHash: 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696' });
    expect(result.benchmark).toEqual({ name: 'tinystories', dataHash: '555d942121c922498d7822e6e88c48c6a624e2b2193d302e628c37ed65a0a5d5', items: 4 });
    expect(result.config).toEqual(small());
    expect(result.memory).toMatchObject({ kvBytesPerToken: 280, fp16BytesPerToken: 640, ratioToFp16: 280 / 640 });
    expect(result.memory.peakRssBytes).toBeGreaterThan(10_000_000);
    expect(result.versions.node).toBe(process.version);
    expect(result.versions.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.versions.kvbench).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.speed.tokensPerSecond).toBeGreaterThan(0);
    expect(result.speed.wallSeconds).toBeGreaterThan(0);
    const m = result.metrics;
    for (const key of ['perplexity', 'kl', 'top1', 'nllDelta', 'nllDeltaStderr', 'scoredTokens'] as const) expect(Number.isFinite(m[key])).toBe(true);
    expect(result.samples).toHaveLength(4);
    expect(result.nonFinite).toBe(0);
    // Per layer, keys and values: quantization error and mean norm; stories260K's keys are ~10x its values.
    expect(result.layerStats.filter((s) => !s.metric.startsWith('attn.'))).toHaveLength(5 * 2 * 2);
    expect(result.layerStats.filter((s) => s.metric.startsWith('attn.'))).toHaveLength(5 * 5); // attention-level metrics
    const stat = (layer: number, tensor: 'k' | 'v', metric: string) => result.layerStats.find((s) => s.layer === layer && s.tensor === tensor && s.metric === metric)!.value;
    for (let l = 0; l < 5; l++) {
      expect(stat(l, 'k', 'meanNorm')).toBeGreaterThan(3 * stat(l, 'v', 'meanNorm'));
      expect(stat(l, 'k', 'relError')).toBeLessThan(stat(l, 'v', 'relError')); // K at 4 bits, V at 2
    }
    expect(result.protocolRecord).toMatchObject({ protocol: 'ppl-decode', prompt: 16, documentsKept: 4 });
  });

  it('the in-thread mode gives the same numbers', async () => {
    const a = await evaluate(small({ limit: 2 }), {}, { engine: 'reference', inThread: false });
    const b = await evaluate(small({ limit: 2 }), {}, { engine: 'reference' });
    expect(a.metrics).toEqual(b.metrics);
  });

  it('aborting rejects promptly with an AbortError', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const run = evaluate(small({ limit: 40, maxTokens: 192, prompt: 64 }), {
      signal: controller.signal,
      onProgress: () => {
        if (!abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    }, { engine: 'reference' });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    const already = new AbortController();
    already.abort();
    await expect(evaluate(small(), { signal: already.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('aborting an ONNX Runtime evaluation mid-run stops it at a step boundary (never a crash)', async () => {
    // Terminating the thread inside an ORT call aborts the whole process; the run must stop cooperatively.
    for (const abortAfter of [1, 3]) {
      const controller = new AbortController();
      let reports = 0;
      const run = evaluate(small({ limit: 200, maxTokens: 128 }), {
        signal: controller.signal,
        onProgress: () => {
          if (++reports === abortAfter) controller.abort();
        },
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    }
  });

  it('in-thread runs stop at the next step when aborted', async () => {
    const controller = new AbortController();
    const run = evaluate(small({ limit: 40, maxTokens: 192, prompt: 64 }), { signal: controller.signal, onProgress: () => controller.abort() }, { engine: 'reference', inThread: false });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it.each([
    [{ protocol: 'nope' as never }, /protocol: got "nope", allowed: ppl-decode, gen-exact, mc-decode/],
    [{ provider: 'tpu' as never }, /provider: got "tpu", allowed: cpu, webgpu, cuda/],
    [{ limit: 0 }, /limit: got 0, allowed: an integer >= 1/],
    [{ data: 'mmlu' }, /data: "mmlu" is not a bundled benchmark/],
    [{ model: '/no/such/model' }, /no such file or directory/],
  ])('rejects bad options naming the field: %j', async (over, message) => {
    await expect(evaluate(small(over), {}, { engine: 'reference' })).rejects.toThrow(message);
  });

  it('rejects a bad quantizer config naming the nested field', async () => {
    const bad = small();
    bad.cache = { ...bad.cache, quant: { ...bad.cache.quant!, key: { ...bad.cache.quant!.key, bits: 9 } } };
    await expect(evaluate(bad, {}, { engine: 'reference' })).rejects.toThrow(/cache\.quant\.key\.bits: got 9/);
  });

  it('the reference engine refuses a GPU provider instead of falling back', async () => {
    await expect(evaluate(small({ provider: 'webgpu' }), {}, { engine: 'reference' })).rejects.toThrow(/provider: the reference engine runs on cpu only/);
  });
});
