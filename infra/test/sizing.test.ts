// docs/sizing.md is generated from the planner (scripts/sizing.ts): check it is current, that the
// planner's KV accounting gives the worked numbers of quantizers.md §10.3, and that its model shapes are
// the published configs (packages/engine/src/model/presets.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS } from '@kvbench/engine';
import { findModel, parseRunConfig, planMemory } from '@kvbench/protocol';
import { CONTEXTS, INT4_BYTES_PER_WEIGHT, KV_SPLITS, SIZING_MODELS, renderSizingMarkdown, sizingPlan } from '../../scripts/sizing';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1024 ** 2;

it('docs/sizing.md is what scripts/sizing.ts generates (run `npx tsx scripts/sizing.ts --write`)', () => {
  expect(readFileSync(path.join(ROOT, 'docs/sizing.md'), 'utf8')).toBe(renderSizingMarkdown());
});

describe('quantizers.md §10.3 worked numbers (G = 64, 16-bit scale and zero)', () => {
  // model: [fp16, K4V4, K4V2 (= K2V4), K2V2, K8V8] bytes per token, copied from the table in §10.3.
  const TABLE: Record<string, number[]> = {
    'Llama-3.2-1B': [32_768, 9_216, 7_168, 5_120, 17_408],
    'Llama-3.2-3B': [114_688, 32_256, 25_088, 17_920, 60_928],
    'Llama-3.1-8B': [131_072, 36_864, 28_672, 20_480, 69_632],
    'Llama-3.3-70B': [327_680, 92_160, 71_680, 51_200, 174_080],
    'Qwen3-0.6B': [114_688, 32_256, 25_088, 17_920, 60_928],
    'Qwen3-4B': [147_456, 41_472, 32_256, 23_040, 78_336],
    'Qwen3-8B': [147_456, 41_472, 32_256, 23_040, 78_336],
    'Qwen3-14B': [163_840, 46_080, 35_840, 25_600, 87_040],
    'Qwen3-32B': [262_144, 73_728, 57_344, 40_960, 139_264],
  };
  it.each(Object.entries(TABLE))('%s bytes per token', (model, [fp16, k4v4, k4v2, k2v2, k8v8]) => {
    const perToken = (k: number, v: number) => sizingPlan(model, 'fp16', k, v, 4096).kvBytesPerToken;
    expect(perToken(16, 16)).toBe(fp16);
    expect(perToken(4, 4)).toBe(k4v4);
    expect(perToken(4, 2)).toBe(k4v2);
    expect(perToken(2, 4)).toBe(k4v2);
    expect(perToken(2, 2)).toBe(k2v2);
    expect(perToken(8, 8)).toBe(k8v8);
    expect(sizingPlan(model, 'fp16', 4, 4, 4096).fp16KvBytesPerToken).toBe(fp16);
  });

  it('Llama-3.2-1B ratios 3.56x / 4.57x / 6.40x / 1.88x', () => {
    const ratio = (k: number, v: number) => {
      const p = sizingPlan('Llama-3.2-1B', 'fp16', k, v, 4096);
      return Number((p.fp16KvBytesPerToken / p.kvBytesPerToken).toFixed(2));
    };
    expect([ratio(4, 4), ratio(4, 2), ratio(2, 2), ratio(8, 8)]).toEqual([3.56, 4.57, 6.4, 1.88]);
  });

  it('Llama-3.1-8B K4V2 with the worst-case 127-token fp16 residual: 26.4 / 124.4 / 908.4 MiB', () => {
    const kv = (T: number, residualLength: number) =>
      planMemory(parseRunConfig({ model: 'Llama-3.1-8B', benchmark: 'wikitext2', keyBits: 4, valueBits: 2, maxTokens: T, residualLength, provider: 'cuda' })).kvBytes / MiB;
    expect(kv(512, 127).toFixed(1)).toBe('26.4');
    expect(kv(4096, 127).toFixed(1)).toBe('124.4');
    expect(kv(32768, 127).toFixed(1)).toBe('908.4');
    // quantized-only: 14.0 / 112 / 896 MiB
    expect([kv(512, 0), kv(4096, 0), kv(32768, 0)].map((x) => x.toFixed(1))).toEqual(['14.0', '112.0', '896.0']);
  });
});

describe('the planner uses the published configs', () => {
  it.each(SIZING_MODELS)('%s: layers, KV heads, head size and parameter count', (name) => {
    const shape = findModel(name)!;
    const c = MODEL_PRESETS[name];
    expect({ layers: shape.layers, kvHeads: shape.kvHeads, headDim: shape.headDim }).toEqual({ layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim });
    // Parameters from the config: embeddings, attention, MLP, norms, and an untied LM head.
    const h = c.hiddenSize;
    const attn = h * c.heads * c.headDim + 2 * h * c.kvHeads * c.headDim + c.heads * c.headDim * h;
    const mlp = 3 * h * c.intermediateSize;
    const norms = 2 * h + (c.qkNorm ? 2 * c.headDim : 0);
    const params = c.vocabSize * h * (c.tiedEmbeddings ? 1 : 2) + c.layers * (attn + mlp + norms) + h;
    expect(Math.abs(shape.params - params) / params, `${name}: table ${shape.params}, config ${params}`).toBeLessThan(0.005);
  });
});

describe('what fits where', () => {
  it('Llama-3.3-70B needs 4-bit weights for one 80/141 GB GPU', () => {
    for (const t of CONTEXTS) for (const [k, v] of KV_SPLITS) expect(sizingPlan('Llama-3.3-70B', 'fp16', k, v, t).deviceClass).toBeNull();
    expect(sizingPlan('Llama-3.3-70B', 'int4', 16, 16, 4096).deviceClass).toBe('gpu-80g');
    expect(sizingPlan('Llama-3.3-70B', 'int4', 4, 2, 131072).deviceClass).toBe('gpu-80g');
    expect(sizingPlan('Llama-3.3-70B', 'int4', 16, 16, 131072).deviceClass).toBe('gpu-141g');
  });

  it('int4 weights are 4.5 bits per weight (MatMulNBits, block 32, fp16 scales)', () => {
    expect(INT4_BYTES_PER_WEIGHT * 8).toBe(4.5);
    const p = sizingPlan('Llama-3.1-8B', 'int4', 16, 16, 4096);
    expect(p.weightsBytes).toBeCloseTo(8.03e9 * 0.5625, -3);
  });

  it('a quantized cache never needs a bigger class than the fp16 cache', () => {
    const order = [null, 'gpu-24g', 'gpu-80g', 'gpu-141g'];
    const rank = (c: string | null) => (c === null ? order.length : order.indexOf(c));
    for (const m of SIZING_MODELS) for (const w of ['fp16', 'int4'] as const) for (const t of CONTEXTS) {
      const base = rank(sizingPlan(m, w, 16, 16, t).deviceClass);
      for (const [k, v] of KV_SPLITS) expect(rank(sizingPlan(m, w, k, v, t).deviceClass), `${m} ${w} K${k}V${v} ${t}`).toBeLessThanOrEqual(base);
    }
  });
});
