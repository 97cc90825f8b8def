// The ONNX decoder graph with a full-precision cache against the float64 reference, every family.
import { describe, expect, it } from 'vitest';
import { ReferenceModel } from '../src/reference';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { FAMILIES, randomTokens, tinyModel, worstAgainstReference } from './graph-helpers';

const PROMPT = 9;
const STEPS = 32;

describe('decoder graph, fp32, full-precision cache', () => {
  for (const family of FAMILIES) {
    it(`${family}: prefill and ${STEPS} decode steps match the reference (rel. error < 1e-4)`, async () => {
      // Mistral gets a short sliding window so the window is exercised within the test.
      const model = tinyModel(family, 1, family === 'tiny-mistral' ? { slidingWindow: 12 } : {});
      const tokens = randomTokens(PROMPT + STEPS, model.config.vocabSize, 11);
      const reference = new ReferenceModel(model.config, model.weights, { maxSequence: 64 });
      const session = await createOnnxSession(model, defaultCachePolicy(null));
      try {
        expect(await worstAgainstReference(session, reference, tokens, PROMPT)).toBeLessThan(1e-4);
        expect(session.provider).toBe('cpu');
        expect(session.memory().tokens).toBe(tokens.length);
      } finally {
        await session.dispose();
      }
    });
  }

  it('the fp16 graph (meant for GPUs; the CPU provider runs it too) stays within fp16 precision of the reference', async () => {
    const model = tinyModel('tiny-qwen3-qknorm', 1);
    const tokens = randomTokens(PROMPT + 12, model.config.vocabSize, 11);
    const reference = new ReferenceModel(model.config, model.weights, { maxSequence: 64 });
    const session = await createOnnxSession(model, defaultCachePolicy(null), { dtype: 'float16' });
    try {
      expect(await worstAgainstReference(session, reference, tokens, PROMPT)).toBeLessThan(2e-2);
      expect(session.memory().heldBytes).toBe(tokens.length * session.memory().fp16BytesPerToken); // fp16 cache
    } finally {
      await session.dispose();
    }
  });
});
