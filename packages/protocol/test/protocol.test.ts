import { describe, expect, it } from 'vitest';
import {
  DEVICE_CLASSES,
  ValidationError,
  canonicalJson,
  canonicalRun,
  configHash,
  expandSweep,
  parseRunConfig,
  planMemory,
  safeParseRunConfig,
} from '../src/index';

const base = { model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2 };

function fields(input: unknown): string[] {
  const r = safeParseRunConfig(input);
  return r.ok ? [] : r.issues.map((i) => i.field);
}

describe('run config', () => {
  it('fills defaults and the protocol of the benchmark', () => {
    const c = parseRunConfig(base);
    expect(c).toMatchObject({ model: 'stories260k', protocol: 'ppl-decode', backend: 'quanto', keyGroupSize: 64, residualLength: 128, provider: 'cpu', hqqMode: null, fewShot: null });
    expect(parseRunConfig({ ...base, benchmark: 'gsm8k' }).protocol).toBe('gen-exact');
    expect(parseRunConfig({ ...base, benchmark: 'gsm8k' }).fewShot).toBe(0);
  });

  it('hashes the same config to the same hash whatever the key order, spelling of the model or explicit defaults', () => {
    const a = canonicalRun(base).hash;
    const reversed = Object.fromEntries(Object.entries({ ...base, limit: 20 }).reverse());
    expect(canonicalRun(reversed).hash).toBe(a);
    expect(canonicalRun({ ...base, model: 'stories260K', keyGroupSize: 64, protocol: 'ppl-decode' }).hash).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalRun({ ...base, valueBits: 4 }).hash).not.toBe(a);
    expect(canonicalRun({ ...base, limit: 21 }).hash).not.toBe(a);
  });

  it('nulls fields that cannot change the result, so they do not split hashes', () => {
    const fp = { ...base, keyBits: 16, valueBits: 16 };
    expect(canonicalRun(fp).hash).toBe(canonicalRun({ ...fp, keyGroupSize: 32, backend: 'hqq', keyAxis: 'per-channel' }).hash);
    expect(parseRunConfig(fp).backend).toBeNull();
    expect(canonicalRun({ ...base, hqqMode: 'clean' }).hash).toBe(canonicalRun(base).hash); // quanto ignores hqqMode
    expect(canonicalRun({ ...base, backend: 'hqq', hqqMode: 'clean' }).hash).not.toBe(canonicalRun({ ...base, backend: 'hqq' }).hash);
  });

  it('names the field of each error', () => {
    expect(fields({ ...base, keyBits: 9 })).toEqual(['keyBits']);
    expect(fields({ ...base, valueBits: 0 })).toEqual(['valueBits']);
    expect(fields({ ...base, keyBits: 2.5 })).toEqual(['keyBits']);
    expect(fields({ ...base, keyBits: '4' })).toEqual(['keyBits']);
    expect(fields({ ...base, keyBits: 16 })).toEqual(['keyBits']);
    expect(fields({ ...base, model: 'no-such-model' })).toEqual(['model']);
    expect(fields({ ...base, benchmark: 'mmlu' })).toEqual(['benchmark']);
    expect(fields({ ...base, protocol: 'gen-exact' })).toEqual(['protocol']);
    expect(fields({ ...base, keybits: 4 })).toEqual(['keybits']);
    expect(fields({ ...base, keyAxis: 'sideways' })).toEqual(['keyAxis']);
    expect(fields({ ...base, maxTokens: 10 })).toEqual(['maxTokens']);
    expect(fields({ benchmark: 'tinystories' }).sort()).toEqual(['keyBits', 'model', 'valueBits']);
    expect(fields(null)).toEqual(['']);
    expect(() => parseRunConfig({ ...base, keyBits: 9 })).toThrow(ValidationError);
    const r = safeParseRunConfig({ ...base, keyBits: 9 });
    expect(!r.ok && r.issues[0].message).toMatch(/got 9, allowed: integers 1\.\.8, or 16/);
  });

  it('accepts an unknown model with a shape, verbatim', () => {
    const model = `x'); DROP TABLE runs; -- <script>alert(1)</script>`;
    const c = parseRunConfig({ ...base, model, modelShape: { layers: 2, kvHeads: 2, headDim: 16, params: 1e6 } });
    expect(c.model).toBe(model);
    expect(c.modelShape).toEqual({ layers: 2, kvHeads: 2, headDim: 16, params: 1e6, weightBytes: 2 });
    expect(parseRunConfig({ ...base, model: '/models/my-llama' }).model).toBe('/models/my-llama');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});

describe('memory planner', () => {
  const shapeRun = (model: string, k: number, v: number, extra: Record<string, unknown> = {}) =>
    parseRunConfig({ model, benchmark: 'tinystories', keyBits: k, valueBits: v, residualLength: 0, maxTokens: 1024, provider: 'cuda', ...extra });

  it('matches the worked KV numbers of quantizers.md §10.3 (G = 64, 16-bit scale and zero)', () => {
    const perToken = (model: string, k: number, v: number, extra = {}) => planMemory(shapeRun(model, k, v, extra)).kvBytesPerToken;
    expect(perToken('Llama-3.2-1B', 16, 16)).toBe(32_768);
    expect(perToken('Llama-3.2-1B', 4, 4)).toBe(9_216);
    expect(perToken('Llama-3.2-1B', 4, 2)).toBe(7_168);
    expect(perToken('Llama-3.2-1B', 2, 4)).toBe(7_168);
    expect(perToken('Llama-3.2-1B', 2, 2)).toBe(5_120);
    expect(perToken('Llama-3.2-1B', 8, 8, { backend: 'hqq' })).toBe(17_408);
    expect(perToken('Llama-3.1-8B', 4, 2)).toBe(28_672);
    expect(perToken('Llama-3.3-70B', 4, 4)).toBe(92_160);
    expect(perToken('Qwen3-32B', 2, 2)).toBe(40_960);
    expect(perToken('Qwen3-14B', 8, 8, { backend: 'hqq' })).toBe(87_040);
    expect(planMemory(parseRunConfig(base)).fp16KvBytesPerToken).toBe(2 * 5 * 4 * 8 * 2);
  });

  it('counts the full-precision residual and the batch', () => {
    const c = parseRunConfig({ model: 'Llama-3.1-8B', benchmark: 'tinystories', keyBits: 4, valueBits: 2, maxTokens: 512, residualLength: 127, provider: 'cuda' });
    // quantizers.md §10.3: Llama-3.1-8B K4V2 with a 127-token fp16 residual at T = 512 -> 26.4 MiB
    expect(planMemory(c).kvBytes / 1024 ** 2).toBeCloseTo(26.4, 1);
    const b4 = planMemory({ ...c, batch: 4 });
    expect(b4.kvBytes).toBe(4 * planMemory(c).kvBytes);
  });

  it('picks the smallest class that fits, or says why none does', () => {
    expect(planMemory(parseRunConfig(base)).deviceClass).toBe('cpu');
    expect(planMemory(shapeRun('Llama-3.2-1B', 4, 2)).deviceClass).toBe('gpu-24g');
    expect(planMemory(shapeRun('Qwen3-32B', 4, 2)).deviceClass).toBe('gpu-80g');
    expect(planMemory(shapeRun('Llama-3.1-8B', 4, 2)).deviceClass).toBe('gpu-24g');
    expect(planMemory(shapeRun('Qwen3-32B', 16, 16, { maxTokens: 131072 })).deviceClass).toBe('gpu-141g');
    // 70B in bf16 is 141 GB of weights alone: no single-GPU class holds it
    expect(planMemory(shapeRun('Llama-3.3-70B', 4, 2)).deviceClass).toBeNull();
    const huge = planMemory(shapeRun('Llama-3.3-70B', 16, 16, { maxTokens: 131072, batch: 8 }));
    expect(huge.deviceClass).toBeNull();
    expect(huge.reason).toMatch(/fits no GPU class: needs .* GiB .*gpu-141g/);
    expect(planMemory(shapeRun('Llama-3.3-70B', 4, 2, { provider: 'cpu' })).deviceClass).toBeNull();
    expect(DEVICE_CLASSES.map((d) => d.name)).toEqual(['cpu', 'gpu-24g', 'gpu-80g', 'gpu-141g']);
  });
});

describe('sweep', () => {
  const spec = { models: ['stories260k', 'Llama-3.2-1B'], benchmarks: ['tinystories'], pairs: [[4, 4], 'K4V2', [2, 4], [16, 16]], groupSizes: [32, 64], base: { limit: 5 } };

  it('expands model-major, deduplicating full-precision cells', () => {
    const e = expandSweep(spec);
    // 2 models x (3 quantized pairs x 2 group sizes + 1 fp16 cell)
    expect(e.cells.length).toBe(14);
    expect(e.duplicates).toBe(2);
    expect(e.cells.slice(0, 7).every((c) => c.config.model === 'stories260k')).toBe(true);
    expect(e.cells.every((c) => c.config.limit === 5)).toBe(true);
    expect(new Set(e.cells.map((c) => c.hash)).size).toBe(14);
    expect(e.cells[0].hash).toBe(configHash(e.cells[0].config));
  });

  it('keeps the cells of one axis pair together within a model (one worker lane per run of cells)', () => {
    const e = expandSweep({ ...spec, keyAxes: ['per-token', 'per-channel'], valueAxes: ['per-token', 'per-channel'] });
    for (const model of spec.models) {
      const axes = e.cells.filter((c) => c.config.model === model && c.config.keyBits !== 16).map((c) => `${c.config.keyAxis}/${c.config.valueAxis}`);
      expect(axes.length).toBe(3 * 2 * 4);
      // contiguous runs: each axis pair starts once
      const starts = axes.filter((a, i) => i === 0 || axes[i - 1] !== a);
      expect(starts).toEqual(['per-token/per-token', 'per-token/per-channel', 'per-channel/per-token', 'per-channel/per-channel']);
    }
  });

  it('expands keyBits x valueBits grids and skips mixed full precision', () => {
    const e = expandSweep({ models: ['stories260k'], benchmarks: ['tinystories'], keyBits: [2, 4, 16], valueBits: [2, 4, 16] });
    expect(e.cells.length).toBe(5);
    expect(e.skipped.length).toBe(4);
  });

  it('names the field of grid and base errors', () => {
    const err = (input: unknown) => {
      try {
        expandSweep(input);
        return [];
      } catch (e) {
        return (e as ValidationError).issues.map((i) => i.field);
      }
    };
    expect(err({ ...spec, models: ['nope'] })).toEqual(['models']);
    expect(err({ ...spec, pairs: [[4, 9]] })).toEqual(['pairs.0.1']);
    expect(err({ ...spec, pairs: ['K9V2'] })).toEqual(['pairs.0']);
    expect(err({ ...spec, base: { limit: 0 } })).toEqual(['base.limit']);
    expect(err({ ...spec, base: { model: 'x' } })).toEqual(['base.model']);
    expect(err({ ...spec, pairs: undefined })).toEqual(['pairs']);
    expect(err({ ...spec, maxCells: 3 })).toEqual(['maxCells']);
  });

  it('expands 1,000 cells quickly enough to preview interactively', () => {
    const e = expandSweep({ models: ['stories260k'], benchmarks: ['tinystories', 'wikitext2'], keyBits: [1, 2, 3, 4, 5, 6, 7, 8], valueBits: [1, 2, 3, 4, 5, 6, 7, 8], keyGroupSizes: [16, 32, 64, 128], valueGroupSizes: [32, 64] });
    expect(e.cells.length).toBe(2 * 64 * 8);
  });
});
