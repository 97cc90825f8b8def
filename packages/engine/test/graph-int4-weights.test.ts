// 4-bit linear weights through com.microsoft MatMulNBits: the TS packing against its own dequantizer,
// the ONNX graph against the float64 reference run on the dequantized weights (so the graph computes
// exactly the int4 model), stories260K, and option errors.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvaluationHost, generateRandomModel, type EvalOptions, type EvaluationHost } from '../src';
import { dequantizeInt4, quantizeInt4, validateWeightQuant } from '../src/graph';
import { loadModel, presetHfConfig, SeededRandom, type ModelWeights } from '../src/model';
import type { ModelConfig } from '../src/model';
import { ReferenceModel } from '../src/reference';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { validateEvalOptions } from '../src/protocols/run-evaluation';
import { FAMILIES, randomTokens, relativeError, tinyModel } from './graph-helpers';

const PROMPT = 7;
const STEPS = 10;

/** The weights the int4 graph multiplies by: every projection quantized and dequantized, the rest as is. */
function dequantizedWeights(config: ModelConfig, weights: ModelWeights, blockSize: number): ModelWeights {
  const dim = config.hiddenSize;
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const m = config.intermediateSize;
  const roundTrip = (w: Float32Array, n: number, k: number) => dequantizeInt4(quantizeInt4(w, n, k, blockSize));
  return {
    ...weights,
    layers: weights.layers.map((l) => ({
      ...l,
      wq: roundTrip(l.wq, q, dim),
      wk: roundTrip(l.wk, kv, dim),
      wv: roundTrip(l.wv, kv, dim),
      wo: roundTrip(l.wo, dim, q),
      wGate: roundTrip(l.wGate, m, dim),
      wUp: roundTrip(l.wUp, m, dim),
      wDown: roundTrip(l.wDown, dim, m),
    })),
  };
}

describe('int4 weights (MatMulNBits)', () => {
  it('packed blocks dequantize to the weights within half a block scale', () => {
    const rng = new SeededRandom(5);
    for (const [n, k, blockSize] of [
      [7, 48, 16],
      [5, 256, 32],
      [3, 512, 256],
    ]) {
      const w = new Float32Array(n * k);
      for (let i = 0; i < w.length; i++) w[i] = (rng.next() - 0.3) * 2 * (1 + (i % 5));
      w[3] = 0; // zero stays exact
      w.fill(0.25, 0, Math.min(k, blockSize)); // a constant (all-positive) block
      const q = quantizeInt4(w, n, k, blockSize);
      const nBlocks = k / blockSize;
      expect(q.packed.length).toBe(n * nBlocks * (blockSize / 2));
      expect(q.scales.length).toBe(n * nBlocks);
      expect(q.zeroPoints.length).toBe(n * Math.ceil(nBlocks / 2));
      const back = dequantizeInt4(q);
      for (let row = 0; row < n; row++) {
        for (let i = 0; i < k; i++) {
          const scale = q.scales[row * nBlocks + Math.floor(i / blockSize)];
          expect(Math.abs(back[row * k + i] - w[row * k + i])).toBeLessThanOrEqual((scale / 2) * (1 + 1e-6));
        }
      }
      expect(back[0]).toBeCloseTo(0.25, 6);
    }
  });

  for (const family of FAMILIES) {
    it(`${family}: ONNX logits with int4 weights match the reference on the dequantized weights (rel. error < 1e-4)`, async () => {
      const model = tinyModel(family, 3);
      const blockSize = 16; // K is 32, 48 (intermediate: 3 blocks, an odd count) and 64 (qwen3's q)
      const reference = new ReferenceModel(model.config, dequantizedWeights(model.config, model.weights, blockSize), { maxSequence: 64 });
      const floatReference = new ReferenceModel(model.config, model.weights, { maxSequence: 64 });
      const tokens = randomTokens(PROMPT + STEPS, model.config.vocabSize, 13);
      const session = await createOnnxSession(model, defaultCachePolicy(null), { weightBits: 4, weightBlockSize: blockSize });
      try {
        expect(session.weights).toEqual({ bits: 4, blockSize });
        let expected!: Float64Array;
        let floatLogits!: Float64Array;
        for (let p = 0; p < PROMPT; p++) {
          expected = reference.forward(tokens[p], p);
          floatLogits = floatReference.forward(tokens[p], p);
        }
        const first = await session.prefill(tokens.slice(0, PROMPT));
        let worst = relativeError(first, expected);
        // The int4 model is a different model: its logits are visibly off the float weights' ones.
        expect(relativeError(first, floatLogits)).toBeGreaterThan(1e-3);
        for (let p = PROMPT; p < tokens.length; p++) {
          worst = Math.max(worst, relativeError(await session.step(tokens[p]), reference.forward(tokens[p], p)));
        }
        expect(worst).toBeLessThan(1e-4);
      } finally {
        await session.dispose();
      }
    });
  }

  it('the fp16 graph with int4 weights (fp16 scales) stays within fp16 precision of the dequantized reference', async () => {
    const model = tinyModel('tiny-qwen3-qknorm', 3);
    const reference = new ReferenceModel(model.config, dequantizedWeights(model.config, model.weights, 16), { maxSequence: 64 });
    const tokens = randomTokens(PROMPT + STEPS, model.config.vocabSize, 13);
    const session = await createOnnxSession(model, defaultCachePolicy(null), { weightBits: 4, weightBlockSize: 16, dtype: 'float16' });
    try {
      let expected!: Float64Array;
      for (let p = 0; p < PROMPT; p++) expected = reference.forward(tokens[p], p);
      let worst = relativeError(await session.prefill(tokens.slice(0, PROMPT)), expected);
      for (let p = PROMPT; p < tokens.length; p++) worst = Math.max(worst, relativeError(await session.step(tokens[p]), reference.forward(tokens[p], p)));
      expect(worst).toBeLessThan(2e-2);
    } finally {
      await session.dispose();
    }
  });

  it('stories260K (K = 64 and 172): no MatMulNBits block size divides 172, so weightBits 4 is refused naming weightBlockSize', async () => {
    const model = await loadModel('stories260k');
    for (const weightBlockSize of [undefined, 16, 32, 64]) {
      await expect(createOnnxSession(model, defaultCachePolicy(null), { weightBits: 4, weightBlockSize })).rejects.toThrow(/weightBlockSize: .* does not divide K = 172 of w_down/);
    }
    // 16-bit weights stay the default.
    const session = await createOnnxSession(model, defaultCachePolicy(null));
    try {
      expect(session.weights).toEqual({ bits: 16 });
    } finally {
      await session.dispose();
    }
  });

  it('rejects bad options, naming the field', async () => {
    const model = tinyModel('tiny-llama-mha', 1);
    const open = (options: object) => createOnnxSession(model, defaultCachePolicy(null), options);
    await expect(open({ weightBits: 8 })).rejects.toThrow(/^weightBits: got 8, allowed: 16, 4/);
    await expect(open({ weightBits: 4, weightBlockSize: 24 })).rejects.toThrow(/^weightBlockSize: got 24, allowed: a power of two from 16 to 256/);
    await expect(open({ weightBits: 4, weightBlockSize: 8 })).rejects.toThrow(/^weightBlockSize: got 8/);
    await expect(open({ weightBits: 4, weightBlockSize: 512 })).rejects.toThrow(/^weightBlockSize: got 512/);
    await expect(open({ weightBits: 16, weightBlockSize: 32 })).rejects.toThrow(/^weightBlockSize: got 32, only allowed with weightBits 4/);
    // The default block (32) does not divide the tiny models' intermediate width 48.
    await expect(open({ weightBits: 4 })).rejects.toThrow(/^weightBlockSize: 32 does not divide K = 48 of w_gate|^weightBlockSize: 32 does not divide K = 48 of w_down/);
    expect(validateWeightQuant(4)).toEqual({ bits: 4, blockSize: 32 });
    const evalOptions = { model: 'stories260k', data: 'tinystories', protocol: 'ppl-decode', prompt: 8, maxTokens: 8, limit: 1, provider: 'cpu', cache: defaultCachePolicy(null) } as const;
    expect(() => validateEvalOptions({ ...evalOptions, weightBits: 8 as 4 })).toThrow(/^weightBits: got 8, allowed: 16, 4/);
    expect(() => validateEvalOptions({ ...evalOptions, weightBits: 4 })).not.toThrow();
  });

  describe('through the evaluation host', () => {
    let host: EvaluationHost | undefined;
    afterAll(async () => {
      await host?.close();
    });

    it('weightBits reaches the pooled sessions (own pool entry) and the result says which weights ran', async () => {
      // intermediate 64 so that the default block (32) divides every projection's K.
      const preset = { ...presetHfConfig('tiny-llama-mha'), intermediate_size: 64 };
      const model = generateRandomModel({ preset, outDir: join(mkdtempSync(join(tmpdir(), 'kvbench-int4-')), 'model'), seed: 4 }).dir;
      const options: EvalOptions = { model, data: 'tinystories', protocol: 'ppl-decode', prompt: 8, maxTokens: 16, limit: 1, provider: 'cpu', cache: defaultCachePolicy(null) };
      host = createEvaluationHost();
      const int4 = await host.evaluate({ ...options, weightBits: 4 });
      const float = await host.evaluate(options);
      const again = await host.evaluate({ ...options, weightBits: 4 });
      expect(int4.weights).toEqual({ bits: 4, blockSize: 32 });
      expect(float.weights).toEqual({ bits: 16 });
      expect(again.weights).toEqual({ bits: 4, blockSize: 32 });
      expect(again.metrics.perplexity).toBe(int4.metrics.perplexity);
      expect(float.metrics.perplexity).not.toBe(int4.metrics.perplexity);
      // stories260K: the option reaches createOnnxSession inside the host thread, which refuses it.
      await expect(host.evaluate({ ...options, model: 'stories260k', weightBits: 4 })).rejects.toThrow(/weightBlockSize: 32 does not divide K = 172/);
    });
  });
});
