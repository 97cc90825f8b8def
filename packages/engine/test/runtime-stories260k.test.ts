// The real stories260K model through the ONNX session: logits against the float64 reference and the
// greedy story from BOS.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../src/model';
import { argmax, ReferenceModel } from '../src/reference';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { loadTokenizer, type TextTokenizer } from '../src/tokenizer';
import { k4v2Policy, relativeError } from './graph-helpers';
import { QuantizedReference } from './runtime-emulator';

let model: LoadedModel;
let tokenizer: TextTokenizer;

beforeAll(async () => {
  model = await loadModel('stories260k');
  tokenizer = await loadTokenizer('stories260k');
});

describe('stories260K on ONNX Runtime (cpu, fp32)', () => {
  it('greedy decoding from BOS starts "Once upon a time, there was a little girl named Lily." and matches the reference logits', async () => {
    const session = await createOnnxSession(model, defaultCachePolicy(null));
    const reference = new ReferenceModel(model.config, model.weights, { maxSequence: 64 });
    try {
      const ids = [tokenizer.bosId!];
      let logits = await session.prefill(ids);
      let worst = relativeError(logits, reference.forward(ids[0], 0));
      for (let s = 0; s < 40; s++) {
        const next = argmax(logits);
        ids.push(next);
        logits = await session.step(next);
        worst = Math.max(worst, relativeError(logits, reference.forward(next, ids.length - 1)));
      }
      expect(tokenizer.decode(ids).startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await session.dispose();
    }
  });

  it('a packed K4V2 cache (residual 16) matches the reference with the same cache policy, and simulated mode agrees', async () => {
    const policy = k4v2Policy({ residualLength: 16 });
    const packed = await createOnnxSession(model, policy);
    const simulated = await createOnnxSession(model, { ...policy, mode: 'simulated' });
    const reference = new QuantizedReference(model.config, model.weights, policy, 96);
    try {
      const prompt = tokenizer.encode('Once upon a time, there was a little girl', { bos: true });
      let logits = await packed.prefill(prompt);
      const errors = [relativeError(logits, reference.prefill(prompt))];
      let agreement = relativeError(await simulated.prefill(prompt), logits);
      for (let s = 0; s < 48; s++) {
        const next = argmax(logits);
        logits = await packed.step(next);
        errors.push(relativeError(logits, reference.step(next)));
        agreement = Math.max(agreement, relativeError(await simulated.step(next), logits));
      }
      // float32 vs float64 K/V can round one value to the neighbouring code at a flush; that code stays
      // in the history and every later step differs by ~1e-4 (measured 1.8e-4). Without such a flip the
      // steps agree to ~1e-6, so the median is held to that and the worst step to a flip's size.
      const sorted = [...errors].sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(1e-5);
      expect(sorted[sorted.length - 1]).toBeLessThan(1e-3);
      expect(agreement).toBeLessThan(1e-5);
      expect(packed.memory().quantizedBytesPerToken).toBeGreaterThan(0);
    } finally {
      await packed.dispose();
      await simulated.dispose();
    }
  });
});
