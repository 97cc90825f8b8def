import { describe, expect, it } from 'vitest';
import { DEFAULT_QUANTIZER, type KvQuantConfig, type QuantizerConfig } from '../src/config';
import { bitsPerElement, fp16KvBytesPerToken, heldBytes, kvBytesPerToken, quantizedTensorBytes } from '../src/memory';
import { quantize } from '../src/quantize';

const q = (bits: number, extra: Partial<QuantizerConfig> = {}): QuantizerConfig => ({ ...DEFAULT_QUANTIZER, bits, groupSize: 64, metaDtype: 'bf16', ...extra });
const kv = (k: number, v: number, extra: Partial<QuantizerConfig> = {}): KvQuantConfig => ({ key: q(k, extra), value: q(v, extra) });

describe('memory accounting', () => {
  it('reproduces the §10.3 table exactly (G = 64, bf16 scale and zero, fp16 baseline)', () => {
    const table: [string, number, number, number, number[]][] = [
      // model, L, H_kv, D, [fp16, K4V4, K4V2, K2V2, K8V8]
      ['Llama-3.2-1B', 16, 8, 64, [32768, 9216, 7168, 5120, 17408]],
      ['Llama-3.2-3B', 28, 8, 128, [114688, 32256, 25088, 17920, 60928]],
      ['Llama-3.1-8B', 32, 8, 128, [131072, 36864, 28672, 20480, 69632]],
      ['Llama-3.3-70B', 80, 8, 128, [327680, 92160, 71680, 51200, 174080]],
      ['Qwen3-0.6B', 28, 8, 128, [114688, 32256, 25088, 17920, 60928]],
      ['Qwen3-4B/8B', 36, 8, 128, [147456, 41472, 32256, 23040, 78336]],
      ['Qwen3-14B', 40, 8, 128, [163840, 46080, 35840, 25600, 87040]],
      ['Qwen3-32B', 64, 8, 128, [262144, 73728, 57344, 40960, 139264]],
    ];
    for (const [name, layers, kvHeads, headDim, [fp16, k4v4, k4v2, k2v2, k8v8]] of table) {
      const model = { layers, kvHeads, headDim };
      expect(kvBytesPerToken(model, null), name).toBe(fp16);
      expect(fp16KvBytesPerToken(model), name).toBe(fp16);
      expect(kvBytesPerToken(model, kv(4, 4)), name).toBe(k4v4);
      expect(kvBytesPerToken(model, kv(4, 2)), name).toBe(k4v2);
      expect(kvBytesPerToken(model, kv(2, 4)), name).toBe(k4v2);
      expect(kvBytesPerToken(model, kv(2, 2)), name).toBe(k2v2);
      expect(kvBytesPerToken(model, kv(8, 8, { backend: 'hqq' })), name).toBe(k8v8);
      expect(kvBytesPerToken(model, kv(4, 4, { metaDtype: 'fp32' }), 16), name).toBe(k4v4); // metaBits override
    }
    // compression ratios quoted for Llama-3.2-1B
    expect(32768 / 9216).toBeCloseTo(3.56, 2);
  });

  it('counts dense codes for every b and the metadata of each config', () => {
    const model = { layers: 2, kvHeads: 4, headDim: 128 };
    for (let b = 1; b <= 8; b++) expect(kvBytesPerToken(model, kv(b, b))).toBe((2 * 2 * 4 * 128 * (b + 0.5)) / 8);
    expect(bitsPerElement(q(3, { groupSize: 128 }))).toBe(3.25);
    expect(bitsPerElement(q(4, { metaDtype: 'fp32', groupSize: 32 }))).toBe(6);
    // K3 G128 fp16, V5 G32 fp32, per layer
    const mixed = { key: q(3, { groupSize: 128, metaDtype: 'fp16' }), value: q(5, { groupSize: 32, metaDtype: 'fp32' }) };
    expect(kvBytesPerToken(model, mixed)).toBe((2 * 4 * 128 * (3.25 + 7)) / 8);
    expect(kvBytesPerToken(model, [kv(4, 2), kv(2, 2)])).toBe((4 * 128 * (4.5 + 2.5 + 2.5 + 2.5)) / 8);
    expect(() => kvBytesPerToken(model, [kv(4, 2)])).toThrow(/kv: has 1 per-layer configs, the model has 2 layers/);
    expect(() => kvBytesPerToken({ layers: 0, kvHeads: 8, headDim: 64 }, null)).toThrow(/model\.layers: got 0/);
    expect(() => kvBytesPerToken(model, kv(9, 2))).toThrow(/key\.bits|bits: got 9/);
  });

  it('per tensor: exact bytes of codes (with block padding), scales and zeros actually held', () => {
    const shape = [1, 8, 4096, 128];
    const t = quantizedTensorBytes(shape, q(3, { groupSize: 64, metaDtype: 'fp16' }));
    const numel = 8 * 4096 * 128;
    expect(t).toEqual({ codes: (numel * 3) / 8, scales: (numel / 64) * 2, zeros: (numel / 64) * 2, nonFinite: 0, total: (numel * 3.5) / 8, fp16: numel * 2 });
    // a ragged count: 3 groups of 5 codes at 3 bits = 15 codes -> 2 blocks -> 6 bytes
    const small = quantizedTensorBytes([1, 1, 3, 5], q(3, { groupSize: 5, metaDtype: 'fp32' }));
    expect(small.codes).toBe(6);
    expect(small.total).toBe(6 + 12 + 12);
    const x = Float32Array.from({ length: 15 }, (_, i) => (i === 4 ? NaN : Math.sin(i)));
    const held = heldBytes(quantize(x, [1, 1, 3, 5], q(3, { groupSize: 5, metaDtype: 'fp32' })));
    expect(held.codes).toBe(6);
    expect(held.nonFinite).toBe(6);
    expect(held.total).toBe(small.total + 6);
  });
});
