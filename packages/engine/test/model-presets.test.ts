import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../src/model';
import { generateRandomModel, loadModel, MODEL_PRESETS, presetConfig } from '../src/model';
import { ReferenceModel } from '../src/reference';
import { loadTokenizer } from '../src/tokenizer';

const root = mkdtempSync(join(tmpdir(), 'kvbench-presets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function parameterCount(c: ModelConfig): number {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const h = c.hiddenSize;
  const perLayer = 2 * h * q + 2 * h * kv + 3 * h * c.intermediateSize + 2 * h + (c.qkNorm ? 2 * c.headDim : 0);
  return c.vocabSize * h * (c.tiedEmbeddings ? 1 : 2) + c.layers * perLayer + h;
}

describe('published model presets', () => {
  it('reproduce each model card\'s exact parameter count', () => {
    // Counts as the HF hub / model cards report them (safetensors metadata total).
    const published: Record<keyof typeof MODEL_PRESETS, number> = {
      'Llama-3.2-1B': 1_235_814_400,
      'Llama-3.2-3B': 3_212_749_824,
      'Llama-3.1-8B': 8_030_261_248,
      'Llama-3.3-70B': 70_553_706_496,
      'Qwen3-0.6B': 596_049_920,
      'Qwen3-4B': 4_022_468_096,
      'Qwen3-8B': 8_190_735_360,
      'Qwen3-14B': 14_768_307_200,
      'Qwen3-32B': 32_762_123_264,
      'Mistral-7B-v0.1': 7_241_732_096,
    };
    for (const [name, count] of Object.entries(published)) {
      expect(parameterCount(MODEL_PRESETS[name as keyof typeof MODEL_PRESETS]), name).toBe(count);
    }
  });

  it('carry the family features', () => {
    expect(MODEL_PRESETS['Llama-3.2-1B']).toMatchObject({ headDim: 64, kvHeads: 8, tiedEmbeddings: true, ropeTheta: 500000, ropePairing: 'half', ropeScaling: { factor: 32 } });
    expect(MODEL_PRESETS['Llama-3.1-8B'].ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 });
    expect(MODEL_PRESETS['Llama-3.3-70B'].eosIds).toEqual([128001, 128008, 128009]);
    expect(MODEL_PRESETS['Qwen3-0.6B']).toMatchObject({ qkNorm: true, headDim: 128, hiddenSize: 1024, heads: 16, rmsEps: 1e-6, ropeTheta: 1e6, maxPositions: 40960, ropeScaling: null });
    expect(MODEL_PRESETS['Qwen3-32B']).toMatchObject({ heads: 64, kvHeads: 8, hiddenSize: 5120, tiedEmbeddings: false });
    expect(MODEL_PRESETS['Mistral-7B-v0.1']).toMatchObject({ slidingWindow: 4096, headDim: 128, kvHeads: 8, ropeTheta: 10000, tiedEmbeddings: false });
    expect(() => presetConfig('Llama-9' as never)).toThrow(/unknown model preset "Llama-9"/);
  });

  it('generate a real-shaped Qwen3-0.6B with one layer and a small vocabulary, loadable and runnable', async () => {
    const generated = generateRandomModel({ preset: 'Qwen3-0.6B', outDir: join(root, 'qwen3'), layers: 1, vocabSize: 512, dtype: 'BF16', seed: 3 });
    const { config, weights } = await loadModel(generated.dir);
    expect(config).toMatchObject({ ...MODEL_PRESETS['Qwen3-0.6B'], layers: 1, vocabSize: 512, bosId: expect.any(Number), eosId: expect.any(Number), eosIds: expect.any(Array) });
    expect(JSON.parse(readFileSync(join(generated.dir, 'config.json'), 'utf8'))).toMatchObject({ torch_dtype: 'bfloat16', head_dim: 128, num_hidden_layers: 1 });
    expect(weights.layers[0].wq.length).toBe(2048 * 1024);
    const tokenizer = await loadTokenizer(generated.dir);
    const ids = tokenizer.encode('Once upon a time', { bos: true });
    expect(ids.every((id) => id < config.vocabSize)).toBe(true);
    // Activations stay sane: logits are finite and O(1) with N(0, 0.02) weights and unit norms.
    const reference = new ReferenceModel(config, weights, { maxSequence: 8 });
    let logits!: Float64Array;
    ids.forEach((id, pos) => (logits = reference.forward(id, pos)));
    const maxAbs = logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(maxAbs).toBeGreaterThan(0.01);
    expect(maxAbs).toBeLessThan(10);
  });

  it('generation is deterministic per seed', () => {
    const a = generateRandomModel({ preset: 'tiny-llama-mha', outDir: join(root, 'a'), seed: 11 });
    const b = generateRandomModel({ preset: 'tiny-llama-mha', outDir: join(root, 'b'), seed: 11 });
    const c = generateRandomModel({ preset: 'tiny-llama-mha', outDir: join(root, 'c'), seed: 12 });
    const bytes = (dir: string) => readFileSync(join(dir, 'model.safetensors'));
    expect(bytes(a.dir).equals(bytes(b.dir))).toBe(true);
    expect(bytes(a.dir).equals(bytes(c.dir))).toBe(false);
  });
});
