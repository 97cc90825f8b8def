// Per-layer K/V statistics of the ONNX session (first prefill, CPU) on the real stories260K model:
// present for every layer and tensor, equal to an independent computation on the float64 reference
// forward pass's cache, ordered as the model and the quantizers say they must be, and in evaluate's record.
import { dequantize, quantize, quantizerConfig, type KvQuantConfig, type QuantizerConfig } from '@kvbench/quant';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CachePolicy, EvalOptions, LayerStat } from '../src/evaluation';
import { loadModel, type LoadedModel } from '../src/model';
import { LeasedSession } from '../src/host/leased-session';
import { runEvaluation } from '../src/protocols/run-evaluation';
import { TimedSession } from '../src/protocols/timed-session';
import { ReferenceModel } from '../src/reference';
import { createOnnxSession } from '../src/runtime';
import { loadTokenizer } from '../src/tokenizer';

const TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog.';
const quantizer = (bits: number): QuantizerConfig => quantizerConfig({ bits, backend: 'quanto', axis: 'per-token', groupSize: 8 });
const kv = (keyBits: number, valueBits: number): KvQuantConfig => ({ key: quantizer(keyBits), value: quantizer(valueBits) });
const policy = (quant: KvQuantConfig | null): CachePolicy => ({ quant, residualLength: 16, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' });

let model: LoadedModel;
let tokens: number[];

beforeAll(async () => {
  model = await loadModel('stories260k');
  const tokenizer = await loadTokenizer('stories260k');
  tokens = [tokenizer.bosId!, ...tokenizer.encode(TEXT)];
});

async function sessionStats(quant: KvQuantConfig | null, layerStatsTokens?: number): Promise<{ stats: LayerStat[]; source: string }> {
  const session = await createOnnxSession(model, policy(quant), { layerStatsTokens });
  try {
    expect(session.layerStats()).toEqual([]);
    await session.prefill(tokens);
    for (const t of [5, 6, 7]) await session.step(t);
    await session.prefill(tokens.slice(0, 5)); // later prefills do not replace the first one's statistics
    return { stats: session.layerStats(), source: session.layerStatsSource() };
  } finally {
    await session.dispose();
  }
}

const stat = (stats: LayerStat[], layer: number, tensor: 'k' | 'v', metric: string): number => {
  const found = stats.filter((s) => s.layer === layer && s.tensor === tensor && s.metric === metric);
  expect(found, `${metric} of layer ${layer} ${tensor}`).toHaveLength(1);
  return found[0].value;
};

/** The reference cache of layer l as the [1, H, T, D] float32 tensor the session's statistics are taken on. */
function referenceCaches(T: number): { k: Float32Array[]; v: Float32Array[] } {
  const { layers, kvHeads: H, headDim: D } = model.config;
  const reference = new ReferenceModel(model.config, model.weights, { maxSequence: T });
  tokens.slice(0, T).forEach((t, pos) => reference.forward(t, pos));
  const toHeads = (cache: Float64Array) => {
    const x = new Float32Array(H * T * D);
    for (let s = 0; s < T; s++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) x[(h * T + s) * D + d] = cache[(s * H + h) * D + d];
    return x;
  };
  return { k: Array.from({ length: layers }, (_, l) => toHeads(reference.keyCache[l])), v: Array.from({ length: layers }, (_, l) => toHeads(reference.valueCache[l])) };
}

const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((a, v) => a + v * v, 0));

describe('ONNX session layerStats (stories260K, cpu)', () => {
  it('K4V2 quanto per-token G=8: every layer, K and V, equal to the same statistics of the reference cache', async () => {
    const { stats, source } = await sessionStats(kv(4, 2));
    const { layers, kvHeads: H, headDim: D } = model.config;
    const T = tokens.length;
    expect(T).toBeGreaterThan(16);
    expect(source).toContain(`first ${T} positions`);
    expect(stats).toHaveLength(layers * 2 * 5);
    const reference = referenceCaches(T);
    for (let l = 0; l < layers; l++) {
      for (const tensor of ['k', 'v'] as const) {
        const x = reference[tensor][l];
        const frobenius = norm(x);
        const q = tensor === 'k' ? quantizer(4) : quantizer(2);
        const relError = norm(dequantize(quantize(x, [1, H, T, D], q)).map((y, i) => y - x[i])) / frobenius;
        let meanNorm = 0;
        for (let v = 0; v < H * T; v++) meanNorm += norm(x.subarray(v * D, (v + 1) * D)) / (H * T);
        expect(Math.abs(stat(stats, l, tensor, 'frobenius') / frobenius - 1)).toBeLessThan(1e-4);
        expect(Math.abs(stat(stats, l, tensor, 'rmsPerToken') / (frobenius / Math.sqrt(T)) - 1)).toBeLessThan(1e-4);
        expect(Math.abs(stat(stats, l, tensor, 'meanNorm') / meanNorm - 1)).toBeLessThan(1e-4);
        expect(Math.abs(stat(stats, l, tensor, 'maxAbs') / Math.max(...Array.from(x, Math.abs)) - 1)).toBeLessThan(1e-4);
        // fp32 graph vs fp64 reference may flip a code at a rounding tie: a looser bound on the error.
        expect(Math.abs(stat(stats, l, tensor, 'relError') / relError - 1)).toBeLessThan(2e-2);
      }
      // Keys are several times larger than values on this model (reference-stories260k.md).
      expect(stat(stats, l, 'k', 'frobenius')).toBeGreaterThan(stat(stats, l, 'v', 'frobenius'));
    }
  });

  it('2-bit keys err more than 4-bit keys on the same data; the values (same quantizer) err the same', async () => {
    const [k4, k2] = [(await sessionStats(kv(4, 2))).stats, (await sessionStats(kv(2, 2))).stats];
    for (let l = 0; l < model.config.layers; l++) {
      expect(stat(k2, l, 'k', 'relError')).toBeGreaterThan(stat(k4, l, 'k', 'relError'));
      expect(stat(k2, l, 'v', 'relError')).toBe(stat(k4, l, 'v', 'relError'));
      expect(stat(k2, l, 'k', 'frobenius')).toBe(stat(k4, l, 'k', 'frobenius'));
    }
  });

  it('full precision: norms only, no relError; layerStatsTokens caps the positions used', async () => {
    const fp = await sessionStats(null);
    expect(fp.stats).toHaveLength(model.config.layers * 2 * 4);
    expect(fp.stats.some((s) => s.metric === 'relError')).toBe(false);
    const capped = await sessionStats(null, 8);
    expect(capped.source).toContain('first 8 positions');
    const k8 = referenceCaches(8).k[0];
    expect(Math.abs(stat(capped.stats, 0, 'k', 'frobenius') / norm(k8) - 1)).toBeLessThan(1e-4);
    const off = await sessionStats(null, 0);
    expect(off.stats).toEqual([]);
    expect(off.source).toMatch(/^off/);
    await expect(createOnnxSession(model, policy(null), { layerStatsTokens: -1 })).rejects.toThrow(/layerStatsTokens/);
  });

  it('a reused session (TimedSession over a pooled LeasedSession) takes them afresh after restartLayerStats, not after reset', async () => {
    const session = await createOnnxSession(model, policy(kv(4, 2)));
    const timed = new TimedSession(new LeasedSession(session, () => {}));
    try {
      await timed.prefill(tokens);
      timed.reset(); // protocols reset per item: the first prefill's statistics stay
      await timed.prefill(tokens.slice(0, 8));
      expect(timed.layerStatsSource()).toContain(`first ${tokens.length} positions`);
      timed.restartLayerStats();
      expect(timed.layerStats()).toEqual([]);
      await timed.prefill(tokens.slice(0, 8));
      expect(timed.layerStatsSource()).toContain('first 8 positions');
      expect(timed.layerStats()).toHaveLength(model.config.layers * 2 * 5);
    } finally {
      await session.dispose();
    }
  });

  it('runEvaluation (onnx, in-process) records the quantized session\'s layerStats and where they come from', async () => {
    const options: EvalOptions = {
      model: 'stories260k',
      data: 'tinystories',
      protocol: 'ppl-decode',
      prompt: 24,
      maxTokens: 40,
      limit: 2,
      cache: policy(kv(4, 2)),
      provider: 'cpu',
    };
    const r = await runEvaluation(options);
    expect(r.engine).toBe('onnx');
    const session = r.layerStats.filter((s) => !s.metric.startsWith('attn.'));
    expect(session).toHaveLength(model.config.layers * 2 * 5);
    expect(r.layerStats.every((s) => Number.isFinite(s.value))).toBe(true);
    // Attention-level metrics on a sample of the run's data: 5 rows per layer; 4-bit keys err less than 2-bit values.
    const attn = (metric: string, tensor: 'k' | 'v') => r.layerStats.filter((s) => s.metric === metric && s.tensor === tensor).map((s) => s.value);
    expect(r.layerStats.filter((s) => s.metric.startsWith('attn.'))).toHaveLength(model.config.layers * 5);
    expect(attn('attn.klMean', 'k').every((v) => v > 0)).toBe(true);
    attn('attn.relError', 'k').forEach((k, l) => expect(k).toBeLessThan(attn('attn.relError', 'v')[l]));
    expect(r.protocolRecord?.layerStatsSource).toMatch(/^onnx cpu: .*first 24 positions/);
    expect(r.protocolRecord?.attention).toBe('plain'); // the CPU default (GPUs: fused where the model allows)
  });
});
