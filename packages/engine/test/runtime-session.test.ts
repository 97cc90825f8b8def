// DecoderSession behaviour: memory accounting from the held buffers, snapshot/restore, providers,
// and configuration errors that name their field.
import { fp16KvBytesPerToken, kvBytesPerToken, quantizerConfig, type KvQuantConfig } from '@kvbench/quant';
import { describe, expect, it } from 'vitest';
import type { CachePolicy } from '../src/evaluation';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { randomTokens, tinyModel } from './graph-helpers';

const model = tinyModel('tiny-llama3-gqa', 2);
const { layers, kvHeads, headDim } = model.config;
const FP32_TOKEN = 2 * layers * kvHeads * headDim * 4; // residual bytes per token, K and V
const k4v2: KvQuantConfig = { key: quantizerConfig({ bits: 4, groupSize: 8 }), value: quantizerConfig({ bits: 2, groupSize: 8 }) };
const policy = (p: Partial<CachePolicy>): CachePolicy => ({ ...defaultCachePolicy(k4v2), residualLength: 8, ...p });

describe('memory()', () => {
  it('full precision: every token in the fp32 residual, nothing quantized', async () => {
    const session = await createOnnxSession(model, defaultCachePolicy(null));
    await session.prefill([1, 2, 3, 4, 5]);
    await session.step(6);
    const m = session.memory();
    // Exact rows: what the tensors occupy is what the tokens hold.
    expect(m).toEqual({ heldBytes: 6 * FP32_TOKEN, reservedBytes: 6 * FP32_TOKEN, tokens: 6, quantizedBytesPerToken: 0, fp16BytesPerToken: fp16KvBytesPerToken(model.config) });
    await session.dispose();
  });

  it('packed K4V2: the history costs exactly kvBytesPerToken per token, the residual fp32', async () => {
    const session = await createOnnxSession(model, policy({}));
    const expectedPerToken = kvBytesPerToken(model.config, k4v2);
    await session.prefill(randomTokens(13, model.config.vocabSize)); // quantize-all: 13 quantized
    expect(session.memory()).toMatchObject({ tokens: 13, quantizedBytesPerToken: expectedPerToken, heldBytes: 13 * expectedPerToken });
    for (const t of randomTokens(5, model.config.vocabSize, 3)) await session.step(t); // 5 in the residual
    expect(session.memory()).toMatchObject({ tokens: 18, heldBytes: 13 * expectedPerToken + 5 * FP32_TOKEN });
    for (const t of randomTokens(3, model.config.vocabSize, 4)) await session.step(t); // residual hits 8: flushed
    expect(session.memory()).toMatchObject({ tokens: 21, heldBytes: 21 * expectedPerToken });
    expect(expectedPerToken).toBeLessThan(fp16KvBytesPerToken(model.config) / 2);
    expect(session.nonFinite()).toBe(0);
    await session.dispose();
  });
});

describe('chunked prefill', () => {
  it('prefill in chunks of 4 tokens gives the logits and cache of one pass', async () => {
    const tokens = randomTokens(19, model.config.vocabSize, 21);
    const whole = await createOnnxSession(model, policy({}));
    const chunked = await createOnnxSession(model, policy({}), { prefillChunk: 4 });
    const a = [await whole.prefill(tokens), await whole.step(5)];
    const b = [await chunked.prefill(tokens), await chunked.step(5)];
    for (let i = 0; i < 2; i++) for (let j = 0; j < a[i].length; j++) expect(Math.abs(a[i][j] - b[i][j])).toBeLessThan(1e-4);
    expect(chunked.memory()).toEqual(whole.memory());
    await whole.dispose();
    await chunked.dispose();
  });
});

describe('nonFinite()', () => {
  it('counts the NaN/Inf values the quantizer meets', async () => {
    // An infinite weight in one row of layer 0's value projection makes that value channel non-finite.
    const layers = model.weights.layers.map((l, i) => (i === 0 ? { ...l, wv: Float32Array.from(l.wv, (w, j) => (j === 3 ? Infinity : w)) } : l));
    const broken = { config: model.config, weights: { ...model.weights, layers } };
    const session = await createOnnxSession(broken, policy({}));
    await session.prefill([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // At least that channel of all 10 values of layer 0; the Inf then spreads through attention.
    expect(session.nonFinite()).toBeGreaterThanOrEqual(10);
    await session.dispose();
  });
});

describe('snapshot / restore', () => {
  it('restoring replays the same logits, for a packed cache across a flush', async () => {
    const session = await createOnnxSession(model, policy({ residualLength: 4 }));
    await session.prefill(randomTokens(10, model.config.vocabSize));
    const snap = session.snapshot();
    const continuation = randomTokens(6, model.config.vocabSize, 9);
    const first: Float32Array[] = [];
    for (const t of continuation) first.push(Float32Array.from(await session.step(t)));
    await session.step(3);
    session.restore(snap);
    expect(session.memory().tokens).toBe(10);
    for (let i = 0; i < continuation.length; i++) expect(Array.from(await session.step(continuation[i]))).toEqual(Array.from(first[i]));
    expect(() => session.restore({})).toThrow(/snapshot/);
    await session.dispose();
  });
});

describe('providers and errors', () => {
  it('records the provider and never falls back to the CPU', async () => {
    const session = await createOnnxSession(model, defaultCachePolicy(null), { provider: 'cpu', sessionOptions: { intraOpNumThreads: 1 } });
    expect(session.provider).toBe('cpu');
    await session.dispose();
    await expect(createOnnxSession(model, defaultCachePolicy(null), { provider: 'cuda' })).rejects.toThrow(/^provider: /);
  });

  const bad: [string, Partial<CachePolicy> | { options: object }, RegExp][] = [
    ['residualLength', { residualLength: -1 }, /^cache\.residualLength: /],
    ['prefill', { prefill: 'lazy' as CachePolicy['prefill'] }, /^cache\.prefill: /],
    ['residualMode', { residualMode: 'rolling' as CachePolicy['residualMode'] }, /^cache\.residualMode: /],
    ['mode', { mode: 'fake' as CachePolicy['mode'] }, /^cache\.mode: /],
    ['key bits', { quant: { ...k4v2, key: { ...k4v2.key, bits: 9 } } }, /^cache\.quant\.key\.bits: /],
    ['value group size for per-channel', { quant: { ...k4v2, value: { ...k4v2.value, axis: 'per-channel', groupSize: 12 } } }, /^cache\.quant\.value\.groupSize: /],
    ['quanto-per-channel in append mode', { quant: { ...k4v2, key: { ...k4v2.key, axis: 'quanto-per-channel' } } }, /^cache\.quant\.key\.axis: .*requantize/],
    ['hqq-per-channel in append mode', { quant: { ...k4v2, value: { ...k4v2.value, axis: 'hqq-per-channel', backend: 'hqq' } } }, /^cache\.quant\.value\.axis: /],
    ['dtype', { options: { dtype: 'bfloat16' } }, /^dtype: /],
    ['provider', { options: { provider: 'tpu' } }, /^provider: /],
    ['maxContext', { options: { maxContext: 0 } }, /^maxContext: /],
  ];
  for (const [name, change, message] of bad) {
    it(`rejects a bad ${name}, naming the field`, async () => {
      const options = 'options' in change ? change.options : {};
      const p = 'options' in change ? policy({}) : policy(change as Partial<CachePolicy>);
      await expect(createOnnxSession(model, p, options)).rejects.toThrow(message);
    });
  }

  it('rejects tokens outside the vocabulary and positions past maxContext', async () => {
    const session = await createOnnxSession(model, defaultCachePolicy(null), { maxContext: 4 });
    await expect(session.prefill([model.config.vocabSize])).rejects.toThrow(/^tokens: /);
    await session.prefill([1, 2, 3, 4]);
    await expect(session.step(1)).rejects.toThrow(/^maxContext: /);
    await session.dispose();
  });
});
