// The quantized cache inside the graph: every policy of benchmarks.md against the float64 reference
// whose cache the TypeScript quantizer quantizes on the same schedule; packed and simulated agree;
// memory() is what the buffers hold.
import { kvBytesPerToken, quantizerConfig, type KvQuantConfig, type QuantizerConfig } from '@kvbench/quant';
import { describe, expect, it } from 'vitest';
import type { CachePolicy } from '../src/evaluation';
import { createOnnxSession } from '../src/runtime';
import { randomTokens, relativeError, tinyModel, type TinyModel } from './graph-helpers';
import { QuantizedReference } from './runtime-emulator';

const PROMPT = 11;
const STEPS = 30;

const q = (c: Partial<QuantizerConfig>): QuantizerConfig => quantizerConfig(c);
const kv = (key: Partial<QuantizerConfig>, value: Partial<QuantizerConfig>): KvQuantConfig => ({ key: q(key), value: q(value) });
const policy = (quant: KvQuantConfig, p: Partial<CachePolicy> = {}): CachePolicy => ({
  quant, residualLength: 8, prefill: 'quantize-all', residualMode: 'append', mode: 'packed', ...p,
});

interface Run {
  logits: Float32Array[];
  layout: { historyTokens: number; residualTokens: number }[][];
  memory: ReturnType<Awaited<ReturnType<typeof createOnnxSession>>['memory']>;
}

async function runSession(model: TinyModel, p: CachePolicy, tokens: number[]): Promise<Run> {
  const session = await createOnnxSession(model, p);
  try {
    const logits = [await session.prefill(tokens.slice(0, PROMPT))];
    for (let i = PROMPT; i < tokens.length; i++) logits.push(await session.step(tokens[i]));
    const layout = (session as unknown as { cacheLayout(): Run['layout'] }).cacheLayout();
    return { logits, layout, memory: session.memory() };
  } finally {
    await session.dispose();
  }
}

function runReference(model: TinyModel, p: CachePolicy, tokens: number[]): { logits: Float64Array[]; reference: QuantizedReference } {
  const reference = new QuantizedReference(model.config, model.weights, p);
  const logits = [reference.prefill(tokens.slice(0, PROMPT))];
  for (let i = PROMPT; i < tokens.length; i++) logits.push(reference.step(tokens[i]));
  return { logits, reference };
}

const worst = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => Math.max(...a.map((row, i) => relativeError(row, b[i])));

const CASES: { name: string; model: Parameters<typeof tinyModel>[0]; policy: CachePolicy }[] = [
  { name: 'K4V2 quanto per-token G8, R8, quantize-all, append', model: 'tiny-llama3-gqa', policy: policy(kv({ bits: 4, groupSize: 8 }, { bits: 2, groupSize: 8 })) },
  { name: 'K2V2 per-token G4, R0 (every token at once)', model: 'tiny-qwen2-bias', policy: policy(kv({ bits: 2, groupSize: 4 }, { bits: 2, groupSize: 4 }), { residualLength: 0 }) },
  { name: 'K4 quanto per-token G32 (> headDim 16) + V4 hqq G16, keep-residual R6', model: 'tiny-qwen3-qknorm', policy: policy(kv({ bits: 4, groupSize: 32 }, { bits: 4, backend: 'hqq', groupSize: 16 }), { prefill: 'keep-residual', residualLength: 6 }) },
  { name: 'KIVI: per-channel keys G8 + per-token values, keep-residual R8', model: 'tiny-llama-mha', policy: policy(kv({ bits: 2, axis: 'per-channel', groupSize: 8 }, { bits: 2, groupSize: 8 }), { prefill: 'keep-residual' }) },
  { name: 'per-channel K G8 / V G16 with R0: tokens wait in the residual until a group fills', model: 'tiny-mistral', policy: policy(kv({ bits: 4, axis: 'per-channel', groupSize: 8 }, { bits: 3, axis: 'per-channel', groupSize: 16 }), { residualLength: 0 }) },
  { name: 'per-channel K4V3 G8 (aligned K/V history, placeholder while empty), keep-residual R8', model: 'tiny-qwen2-bias', policy: policy(kv({ bits: 4, axis: 'per-channel', groupSize: 8 }, { bits: 3, axis: 'per-channel', groupSize: 8 }), { prefill: 'keep-residual' }) },
  { name: 'requantize mode, per-token K4V2, R4', model: 'tiny-llama3-gqa', policy: policy(kv({ bits: 4, groupSize: 8 }, { bits: 2, groupSize: 8 }), { residualMode: 'requantize', residualLength: 4 }) },
  { name: 'requantize, quanto-per-channel keys G8 + hqq-per-channel values G16, fp32 meta', model: 'tiny-llama3-gqa', policy: policy(kv({ bits: 4, axis: 'quanto-per-channel', groupSize: 8 }, { bits: 2, backend: 'hqq', axis: 'hqq-per-channel', groupSize: 16, metaDtype: 'fp32' }), { residualMode: 'requantize', residualLength: 5 }) },
];

describe('quantized KV cache in the graph vs the float64 reference with the TS quantizer', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const model = tinyModel(c.model, 4, c.model === 'tiny-mistral' ? { slidingWindow: 20 } : {});
      const tokens = randomTokens(PROMPT + STEPS, model.config.vocabSize, 5);
      const packed = await runSession(model, c.policy, tokens);
      const simulated = await runSession(model, { ...c.policy, mode: 'simulated' }, tokens);
      const { logits: expected, reference } = runReference(model, c.policy, tokens);

      // The session followed the same schedule as the reference.
      packed.layout.forEach((layer, l) => {
        expect(layer[0].historyTokens).toBe(reference.historyTokens(l, 'k'));
        expect(layer[1].historyTokens).toBe(reference.historyTokens(l, 'v'));
      });
      expect(packed.layout[0][0].historyTokens).toBeGreaterThan(0);
      // Inputs of the quantizer differ by fp32 rounding between ORT and the float64 reference, so a code
      // can land on the other side of a rounding boundary; with a fixed seed that does not happen here
      // (when it does, the error jumps to ~1e-4 at one step and decays).
      expect(worst(packed.logits, expected)).toBeLessThan(1e-4);
      expect(worst(simulated.logits, packed.logits)).toBeLessThan(1e-5);
      // ... and the quantized cache changed the logits (it is not silently full precision).
      expect(worst(packed.logits, runReference(model, { ...c.policy, quant: kv({ bits: 8, groupSize: 8 }, { bits: 8, groupSize: 8 }) }, tokens).logits)).toBeGreaterThan(1e-4);
    });
  }
});
