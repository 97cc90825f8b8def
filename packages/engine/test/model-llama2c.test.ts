import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS, layerWeightSizes, loadModel, parseLlama2c, resolveModelSpec } from '../src/model';

const dir = mkdtempSync(join(tmpdir(), 'kvbench-llama2c-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('llama2.c loader', () => {
  it('loads the bundled stories260K with the config of SOURCE.txt and its published sha256', async () => {
    const { config, weights, provenance } = await loadModel('stories260k');
    expect(config).toMatchObject({
      architecture: 'llama2c', layers: 5, hiddenSize: 64, intermediateSize: 172, heads: 8, kvHeads: 4, headDim: 8,
      vocabSize: 512, maxPositions: 512, ropeTheta: 10000, ropePairing: 'interleaved', rmsEps: 1e-5,
      tiedEmbeddings: true, qkNorm: false, attentionBias: false, bosId: 1, eosId: 2,
    });
    expect(provenance.weightsSha256).toBe('b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696');
    expect(provenance.format).toBe('llama2c');
    const sizes = layerWeightSizes(config);
    for (const layer of weights.layers) {
      for (const key of ['attnNorm', 'wq', 'wk', 'wv', 'wo', 'mlpNorm', 'wGate', 'wUp', 'wDown'] as const) {
        expect(layer[key].length).toBe(sizes[key]);
      }
    }
    expect(weights.embed.length).toBe(512 * 64);
    expect(weights.lmHead).toBe(weights.embed);
    // RMSNorm weights of a trained model are positive and O(1); a misaligned read would not be.
    expect(weights.finalNorm.every((x) => x > 0 && x < 20)).toBe(true);
  });

  it('resolves specs: bundled name, .bin file, directory', () => {
    expect(resolveModelSpec('stories260k')).toMatchObject({ format: 'llama2c' });
    expect(resolveModelSpec(BUNDLED_MODELS.stories260k.checkpoint)).toMatchObject({ format: 'llama2c' });
    expect(resolveModelSpec(dir)).toMatchObject({ format: 'huggingface' });
    expect(() => resolveModelSpec(join(dir, 'nope.bin'))).toThrow(/no such file/);
  });

  it('rejects truncated or inconsistent checkpoints, naming the file', async () => {
    const bytes = readFileSync(BUNDLED_MODELS.stories260k.checkpoint);
    const truncated = join(dir, 'truncated.bin');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await expect(loadModel(truncated)).rejects.toThrow(/truncated\.bin: .*implies 1056540 \(truncated\)/);
    expect(() => parseLlama2c(bytes.subarray(0, 10), 'x.bin')).toThrow(/x\.bin: truncated/);
    const badHeads = Buffer.from(bytes);
    badHeads.writeInt32LE(3, 16); // n_kv_heads 3 does not divide 8 heads
    expect(() => parseLlama2c(badHeads, 'bad.bin')).toThrow(/bad\.bin: heads \(8\) must be a multiple of kvHeads \(3\)/);
  });
});
