import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StorageDtype } from '../src/model';
import {
  generateRandomModel,
  hfTensorSpecs,
  layerWeightSizes,
  loadModel,
  presetConfig,
  randomModelWeights,
  SafetensorsFile,
  TINY_PRESET_NAMES,
  writeSafetensors,
} from '../src/model';

const root = mkdtempSync(join(tmpdir(), 'kvbench-hf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Rewrites a safetensors file through `edit` (raw bytes kept, so dtypes are untouched). */
function rewrite(path: string, edit: (tensors: { name: string; dtype: StorageDtype; shape: number[]; raw: Uint8Array }[]) => typeof tensors): void {
  const file = new SafetensorsFile(path);
  const bytes = readFileSync(path);
  const tensors = [...file.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, raw: bytes.subarray(t.begin, t.end) }));
  writeSafetensors(path, edit(tensors).map((t) => ({ ...t, bytes: () => t.raw })));
}

function copyModel(from: string, name: string): string {
  const to = join(root, name);
  cpSync(from, to, { recursive: true });
  return to;
}

describe('Hugging Face loader on generated tiny models of every family', () => {
  for (const preset of TINY_PRESET_NAMES) {
    it(`${preset}: generated F32 weights load back exactly, with the expected shapes`, async () => {
      const generated = generateRandomModel({ preset, outDir: join(root, preset), seed: 7 });
      const { config, weights, provenance } = await loadModel(generated.dir);
      expect(config).toEqual(generated.config);
      expect(provenance).toMatchObject({ format: 'huggingface', storedDtype: 'F32', files: ['model.safetensors'] });
      expect(provenance.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
      const sizes = layerWeightSizes(config);
      for (const layer of weights.layers) {
        for (const [key, value] of Object.entries(layer)) expect(value.length).toBe(sizes[key as keyof typeof sizes]);
        expect(layer.bq !== undefined).toBe(config.attentionBias);
        expect(layer.qNorm !== undefined).toBe(config.qkNorm);
      }
      expect(weights.lmHead === weights.embed).toBe(config.tiedEmbeddings);
      const expected = randomModelWeights(config, 7);
      expect(weights.layers[1].wk).toEqual(expected.layers[1].wk);
      expect(weights.lmHead).toEqual(expected.lmHead);
    });
  }

  it('the families differ where they should', async () => {
    const byName = Object.fromEntries(
      await Promise.all(TINY_PRESET_NAMES.map(async (n) => [n, (await loadModel(join(root, n))).config] as const)),
    );
    expect(byName['tiny-llama-mha']).toMatchObject({ architecture: 'LlamaForCausalLM', heads: 4, kvHeads: 4, ropePairing: 'half', tiedEmbeddings: false });
    expect(byName['tiny-llama3-gqa']).toMatchObject({ kvHeads: 2, tiedEmbeddings: true, ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } });
    expect(byName['tiny-qwen2-bias']).toMatchObject({ architecture: 'Qwen2ForCausalLM', attentionBias: true, qkNorm: false });
    expect(byName['tiny-qwen3-qknorm']).toMatchObject({ architecture: 'Qwen3ForCausalLM', qkNorm: true, headDim: 16, hiddenSize: 32 });
    expect(byName['tiny-mistral']).toMatchObject({ architecture: 'MistralForCausalLM', kvHeads: 1, slidingWindow: 4096 });
  });

  it('sharded with an index, in BF16 and F16: same tensors, rounded as the dtype says', async () => {
    const f32 = await loadModel(join(root, 'tiny-qwen3-qknorm'));
    for (const dtype of ['BF16', 'F16'] as const) {
      const generated = generateRandomModel({ preset: 'tiny-qwen3-qknorm', outDir: join(root, `sharded-${dtype}`), seed: 7, dtype, shards: 3 });
      expect(generated.files.filter((f) => f.endsWith('.safetensors'))).toEqual([
        'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors',
      ]);
      expect(generated.files).toContain('model.safetensors.index.json');
      const loaded = await loadModel(generated.dir);
      expect(loaded.provenance.storedDtype).toBe(dtype);
      expect(loaded.provenance.files).toHaveLength(3);
      const a = f32.weights.layers[1].wq;
      const b = loaded.weights.layers[1].wq;
      const tolerance = dtype === 'BF16' ? 2 ** -8 : 2 ** -11; // relative rounding of each format
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(Math.abs(a[i]) * tolerance + 1e-7);
      expect(loaded.weights.layers[0].qNorm!.every((x) => x === 1)).toBe(true);
    }
  });
});

describe('Hugging Face loader rejects bad directories, naming file and tensor', () => {
  const base = join(root, 'tiny-llama-mha');

  it('truncated safetensors file', async () => {
    const dir = copyModel(base, 'truncated');
    const path = join(dir, 'model.safetensors');
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 64));
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: tensor lm_head\.weight: data \[\d+, \d+\) runs past end of file/);
  });

  it('header past end of file, and a file too short for the header length', async () => {
    const dir = copyModel(base, 'header-eof');
    const path = join(dir, 'model.safetensors');
    const bytes = Buffer.from(readFileSync(path));
    bytes.writeBigUInt64LE(BigInt(bytes.length));
    writeFileSync(path, bytes);
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: safetensors header \(\d+ bytes\) runs past end of file/);
    writeFileSync(path, Buffer.from([1, 2, 3]));
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: truncated safetensors file/);
  });

  it('corrupted header JSON', async () => {
    const dir = copyModel(base, 'bad-json');
    const path = join(dir, 'model.safetensors');
    const bytes = Buffer.from(readFileSync(path));
    bytes[8] = 0x5b; // '{' -> '['
    writeFileSync(path, bytes);
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: safetensors header is not valid JSON/);
  });

  it('missing tensor', async () => {
    const dir = copyModel(base, 'missing');
    rewrite(join(dir, 'model.safetensors'), (ts) => ts.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight'));
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: missing tensor model\.layers\.1\.mlp\.up_proj\.weight/);
  });

  it('index that lists a tensor its shard does not hold', async () => {
    const dir = copyModel(join(root, 'sharded-BF16'), 'bad-index');
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    index.weight_map['model.norm.weight'] = 'model-00001-of-00003.safetensors';
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(loadModel(dir)).rejects.toThrow(/model-00001-of-00003\.safetensors: missing tensor model\.norm\.weight \(listed in .*index\.json\)/);
  });

  it('shape mismatch between config.json and a tensor', async () => {
    const dir = copyModel(base, 'shape');
    const configPath = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    config.intermediate_size = 64;
    writeFileSync(configPath, JSON.stringify(config));
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[48, 32\], config\.json implies \[64, 32\]/);
  });

  it('data size inconsistent with the declared shape', async () => {
    const dir = copyModel(base, 'size');
    const path = join(dir, 'model.safetensors');
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8').replace('"dtype":"F32","shape":[32]', '"dtype":"F32","shape":[16]');
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header), bytes.subarray(8 + headerLength)]));
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: tensor model\.[a-z0-9_.]+: data_offsets \[\d+, \d+\] hold 128 bytes but shape \[16\] of F32 needs 64/);
    // and the writer refuses to produce such a file
    expect(() => writeSafetensors(join(dir, 'x.safetensors'), [{ name: 't', dtype: 'F32', shape: [4], bytes: () => new Uint8Array(8) }])).toThrow(/x\.safetensors: tensor t produced 8 bytes, expected 16/);
  });

  it('unknown dtype', async () => {
    const dir = copyModel(base, 'dtype');
    const path = join(dir, 'model.safetensors');
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8').replace('"dtype":"F32","shape":[32]', '"dtype":"F8_E4","shape":[32]');
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header), bytes.subarray(8 + headerLength)]));
    await expect(loadModel(dir)).rejects.toThrow(/model\.safetensors: tensor model\.[a-z0-9_.]+: dtype "F8_E4" is unknown or unsupported/);
  });

  it('unknown architecture and unsupported features in config.json', async () => {
    const dir = copyModel(base, 'arch');
    const configPath = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify({ ...config, architectures: ['GPT2LMHeadModel'] }));
    await expect(loadModel(dir)).rejects.toThrow(/config\.json: unknown architecture "GPT2LMHeadModel"/);
    writeFileSync(configPath, JSON.stringify({ ...config, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
    await expect(loadModel(dir)).rejects.toThrow(/config\.json: rope_scaling type "yarn" is not supported/);
    writeFileSync(configPath, JSON.stringify({ ...config, hidden_act: 'gelu' }));
    await expect(loadModel(dir)).rejects.toThrow(/config\.json: hidden_act "gelu" is not supported/);
    writeFileSync(configPath, JSON.stringify({ ...config, num_key_value_heads: 3 }));
    await expect(loadModel(dir)).rejects.toThrow(/config\.json: heads \(4\) must be a multiple of kvHeads \(3\)/);
    writeFileSync(configPath, '{ not json');
    await expect(loadModel(dir)).rejects.toThrow(/config\.json: config\.json is not valid JSON/);
  });

  it('hfTensorSpecs names the standard HF tensors', () => {
    const config = { ...presetConfig('tiny-qwen2-bias'), layers: 1, qkNorm: true, tiedEmbeddings: false };
    const names = hfTensorSpecs(config).map((s) => s.name);
    expect(names).toEqual([
      'model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.k_proj.weight', 'model.layers.0.self_attn.v_proj.weight', 'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias',
      'model.layers.0.self_attn.q_norm.weight', 'model.layers.0.self_attn.k_norm.weight', 'model.layers.0.post_attention_layernorm.weight',
      'model.layers.0.mlp.gate_proj.weight', 'model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.down_proj.weight',
      'model.norm.weight', 'lm_head.weight',
    ]);
  });
});
