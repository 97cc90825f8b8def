// Decoders whose one-token projections are split-K products (the default on GPU providers, split-k.ts),
// run on the CPU provider: same logits as one MatMul per projection through chunked prefill (the If's
// MatMul branch) and decode steps (the split branch), with full-precision and packed caches.
import { describe, expect, it } from 'vitest';
import { ReferenceModel } from '../src/reference';
import { buildDecoderGraph, ONE_TOKEN } from '../src/graph';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { FAMILIES, k4v2Policy, randomTokens, relativeError, tinyModel, worstAgainstReference } from './graph-helpers';

const PROMPT = 9;
const STEPS = 12;

const k4v2 = k4v2Policy();

describe('split-K projections in the decoder, fp32 on the CPU', () => {
  for (const family of FAMILIES) {
    it(`${family}: chunked prefill and ${STEPS} decode steps match the reference (rel. error < 1e-4)`, async () => {
      const model = tinyModel(family, 2);
      const tokens = randomTokens(PROMPT + STEPS, model.config.vocabSize, 3);
      const reference = new ReferenceModel(model.config, model.weights, { maxSequence: 64 });
      // hidden 32, MLP 48: chunk 8 splits every projection (q/k/v, o, gate/up, down, lm head).
      const session = await createOnnxSession(model, defaultCachePolicy(null), { splitK: 8, prefillChunk: 4 });
      try {
        expect(session.splitKChunk).toBe(8);
        expect(await worstAgainstReference(session, reference, tokens, PROMPT)).toBeLessThan(1e-4);
      } finally {
        await session.dispose();
      }
    });
  }

  for (const attention of ['plain', 'fused'] as const) {
    it(`packed K4V2 with ${attention} attention: same logits as one MatMul per projection (rel. < 1e-5)`, async () => {
      const model = tinyModel('tiny-llama3-gqa', 4, { headDim: 16 });
      const tokens = randomTokens(PROMPT + 20, model.config.vocabSize, 8);
      const split = await createOnnxSession(model, k4v2, { attention, splitK: 16 });
      const whole = await createOnnxSession(model, k4v2, { attention });
      try {
        expect(whole.splitKChunk).toBe(0); // the CPU default
        const prompt = tokens.slice(0, PROMPT);
        let worst = relativeError(await split.prefill(prompt), await whole.prefill(prompt));
        for (let i = PROMPT; i < tokens.length; i++) worst = Math.max(worst, relativeError(await split.step(tokens[i]), await whole.step(tokens[i])));
        expect(split.cacheLayout()[0][0].historyTokens).toBeGreaterThan(0);
        expect(worst).toBeLessThan(1e-5);
      } finally {
        await split.dispose();
        await whole.dispose();
      }
    });
  }

  it('writes each layer projection as one If on one_token and the lm head as the split product, over the same weight bytes', () => {
    const model = tinyModel('tiny-llama3-gqa', 2);
    const options = { dtype: 'float32', maxContext: 64, history: { key: { kind: 'none' }, value: { kind: 'none' } }, alignedHistory: false } as const;
    const whole = buildDecoderGraph(model.config, model.weights, options);
    const split = buildDecoderGraph(model.config, model.weights, { ...options, splitKChunk: 8 });
    expect(split.inputs.map((t) => t.name)).toEqual([whole.inputs[0].name, ONE_TOKEN, ...whole.inputs.slice(1).map((t) => t.name)]);
    expect(split.outputs).toEqual(whole.outputs);
    // q/k/v, o, gate/up, down per layer.
    expect(split.graph.nodes.filter((n) => n.opType === 'If')).toHaveLength(4 * model.config.layers);
    const matmuls = (g: typeof whole.graph) => g.nodes.filter((n) => n.opType === 'MatMul').length;
    expect(matmuls(split.graph)).toBe(matmuls(whole.graph) - 4 * model.config.layers + 1);
    const bytes = (g: typeof whole.graph) => [...g.initializers.values()].reduce((n, t) => n + t.data.byteLength, 0);
    // Same weights (projections stored [in / chunk, chunk, out]); a few ones rows and shape constants more.
    expect(bytes(split.graph) - bytes(whole.graph)).toBeGreaterThanOrEqual(0);
    expect(bytes(split.graph) - bytes(whole.graph)).toBeLessThan(1024);
  });

  it('rejects a splitK that is not an integer >= 0, naming the field', async () => {
    const model = tinyModel('tiny-llama-mha', 1);
    await expect(createOnnxSession(model, defaultCachePolicy(null), { splitK: -8 })).rejects.toThrow(/splitK: got -8/);
    await expect(createOnnxSession(model, defaultCachePolicy(null), { splitK: 2.5 })).rejects.toThrow(/splitK: got 2.5/);
  });
});
