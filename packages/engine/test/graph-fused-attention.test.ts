// The decoder with fused attention (one GroupQueryAttention node per layer, the default on GPU
// providers) run on the CPU provider: every family against the float64 reference, chunked prefill, and
// packed / simulated quantized caches against the reference that quantizes on the same schedule.
import { quantizerConfig } from '@kvbench/quant';
import { describe, expect, it } from 'vitest';
import type { CachePolicy } from '../src/evaluation';
import { ReferenceModel } from '../src/reference';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { GraphBuilder } from '@kvbench/onnx';
import { layerCodecs } from '../src/codec';
import type { DecodeOptions } from '../src/codec/tensor-codec';
import { packedHistoryReader } from '../src/graph/packed-history';
import { FAMILIES, k4v2Policy, randomTokens, relativeError, tinyModel, worstAgainstReference } from './graph-helpers';
import { QuantizedReference } from './runtime-emulator';

const PROMPT = 9;
const STEPS = 24;

describe('decoder graph with fused attention (GroupQueryAttention), fp32 on the CPU', () => {
  for (const family of FAMILIES) {
    it(`${family}: chunked prefill and ${STEPS} decode steps match the reference (rel. error < 1e-4)`, async () => {
      // GroupQueryAttention takes head sizes that are multiples of 16 (real models: 64, 128).
      const model = tinyModel(family, 1, { headDim: 16, ...(family === 'tiny-mistral' ? { slidingWindow: 12 } : {}) });
      const tokens = randomTokens(PROMPT + STEPS, model.config.vocabSize, 11);
      const reference = new ReferenceModel(model.config, model.weights, { maxSequence: 64 });
      // Chunks of 4: the node also runs several new tokens after a past (not only a first prompt).
      const session = await createOnnxSession(model, defaultCachePolicy(null), { attention: 'fused', prefillChunk: 4 });
      try {
        expect(await worstAgainstReference(session, reference, tokens, PROMPT)).toBeLessThan(1e-4);
        expect(session.memory().tokens).toBe(tokens.length);
      } finally {
        await session.dispose();
      }
    });
  }

  const kv = (k: number, v: number) => ({ key: quantizerConfig({ bits: k, groupSize: 8 }), value: quantizerConfig({ bits: v, groupSize: 8 }) });
  // reference false: codecs the quantizing reference does not emulate (the plain graph is the check there).
  const CASES: { name: string; model: Parameters<typeof tinyModel>[0]; policy: CachePolicy; reference?: false }[] = [
    { name: 'packed K4V2 per-token G8, R8 (history cut to its tokens, residual after it)', model: 'tiny-llama3-gqa', policy: k4v2Policy() },
    { name: 'simulated K4V2, keep-residual R6, q/k norm', model: 'tiny-qwen3-qknorm', policy: k4v2Policy({ mode: 'simulated', prefill: 'keep-residual', residualLength: 6 }) },
    {
      name: 'per-channel K G8 / V G16 with R0 (K and V histories of different lengths)',
      model: 'tiny-llama-mha',
      policy: k4v2Policy({ quant: { key: quantizerConfig({ bits: 4, axis: 'per-channel', groupSize: 8 }), value: quantizerConfig({ bits: 4, axis: 'per-channel', groupSize: 16 }) }, residualLength: 0 }),
    },
    { name: 'TurboQuant KQV 3 bits (a two-part codec)', model: 'tiny-llama3-gqa', policy: k4v2Policy({ turbo: { scheme: 'KQV', seed: 3 } }), reference: false },
    { name: 'Hadamard-rotated K2V2', model: 'tiny-llama3-gqa', policy: k4v2Policy({ quant: kv(2, 2), rotation: { kind: 'hadamard', seed: 1 } }), reference: false },
    {
      name: 'per-layer quantizers that differ from layer to layer',
      model: 'tiny-llama3-gqa',
      policy: k4v2Policy({ layers: [kv(4, 2), kv(2, 4)] }),
      reference: false,
    },
  ];
  for (const c of CASES) {
    it(`${c.name}: matches ${c.reference === false ? 'the plain graph' : 'the quantizing reference, as the plain graph does'}`, async () => {
      const model = tinyModel(c.model, 4, { headDim: 16 });
      const tokens = randomTokens(PROMPT + 30, model.config.vocabSize, 5);
      const reference = c.reference === false ? null : new QuantizedReference(model.config, model.weights, c.policy);
      const fused = await createOnnxSession(model, c.policy, { attention: 'fused' });
      const plain = await createOnnxSession(model, c.policy, { attention: 'plain' });
      try {
        const prompt = tokens.slice(0, PROMPT);
        const logits = await fused.prefill(prompt);
        let worst = reference ? relativeError(logits, reference.prefill(prompt)) : 0;
        let agreement = relativeError(logits, await plain.prefill(prompt));
        for (let i = PROMPT; i < tokens.length; i++) {
          const got = await fused.step(tokens[i]);
          if (reference) worst = Math.max(worst, relativeError(got, reference.step(tokens[i])));
          agreement = Math.max(agreement, relativeError(got, await plain.step(tokens[i])));
        }
        expect(fused.cacheLayout()[0][0].historyTokens).toBeGreaterThan(0);
        expect(worst).toBeLessThan(1e-4);
        expect(agreement).toBeLessThan(1e-4);
        expect(fused.memory().quantizedBytesPerToken).toBeCloseTo(plain.memory().quantizedBytesPerToken, 9);
      } finally {
        await fused.dispose();
        await plain.dispose();
      }
    });
  }

  /** The op types of layer 0's key history, read by a float16 packed-history reader with `options`. */
  const readerOps = (model: ReturnType<typeof tinyModel>, options: DecodeOptions) => {
    const codecs = layerCodecs(k4v2Policy(), model.config)!;
    const g = new GraphBuilder();
    const reader = packedHistoryReader(codecs, 'float16', options);
    reader.dequantize(g, reader.inputs(0, 'key').map((t) => g.input(t.name, t.dtype, t.shape)), 0, 'key');
    return g.nodes.map((n) => n.opType);
  };

  it('the packed-history reader unpacks through lookup tables (Gather) when asked, as on GPU providers, else arithmetically (Floor)', () => {
    const model = tinyModel('tiny-llama3-gqa', 2, { headDim: 16 });
    const ops = (lookupTables: boolean) => readerOps(model, { lookupTables });
    expect(ops(true)).toContain('Gather');
    expect(ops(true)).not.toContain('Floor');
    expect(ops(false)).toContain('Floor');
    expect(ops(false)).not.toContain('Gather');
  });

  it("historyArithmetic 'compute' dequantizes the table-unpacked history in float16 (one Cast: the codes'), and bad values of it and of splitKPrefill name the field", async () => {
    const model = tinyModel('tiny-llama3-gqa', 2, { headDim: 16 });
    const casts = (arithmetic: 'float32' | 'compute') => readerOps(model, { lookupTables: true, arithmetic }).filter((op) => op === 'Cast').length;
    expect(casts('compute')).toBe(1);
    expect(casts('float32')).toBe(4);
    await expect(createOnnxSession(model, k4v2Policy(), { historyArithmetic: 'bf16' as never })).rejects.toThrow(/historyArithmetic: got "bf16"/);
    await expect(createOnnxSession(model, k4v2Policy(), { splitKPrefill: -1 })).rejects.toThrow(/splitKPrefill: got -1/);
  });

  it('rejects an unknown attention option and fused attention for head sizes GroupQueryAttention does not take, naming the field', async () => {
    const model = tinyModel('tiny-llama-mha', 1); // head_dim 8
    await expect(createOnnxSession(model, defaultCachePolicy(null), { attention: 'flash' as never })).rejects.toThrow(/attention: got "flash"/);
    await expect(createOnnxSession(model, defaultCachePolicy(null), { attention: 'fused' })).rejects.toThrow(/attention: .*head_dim 8/);
  });
});
