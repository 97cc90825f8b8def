// The analysis run (kvbench analyze / analyze jobs): the reference's onQuery hook, quantized attention
// metrics on a sampled cache, runAnalysis end to end on stories260K, and the layer_stats flattening.
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeQuantize, type KvQuantConfig, type QuantizerConfig } from '@kvbench/quant';
import { analyzeNorms } from '../src/analysis/norm-disparity';
import { attentionMetrics } from '../src/analysis/attention';
import { sampleKvCache } from '../src/analysis/cache-sample';
import { matrix } from '../src/analysis/matrix';
import { quantizableTokens, quantizedAttentionMetrics } from '../src/analysis/quantized-attention';
import { analyze } from '../src/analysis/analyze';
import { runAnalysis, toLayerStats, toRunMetrics } from '../src/analysis/run-analysis';
import type { LoadedModel, ModelConfig } from '../src/model/config';
import { ReferenceModel } from '../src/reference/forward';
import { applyRope, ropeInverseFrequencies } from '../src/reference/rope';
import { loadStories260k, randn } from './analysis-helpers';

const quantizer = (bits: number, axis: QuantizerConfig['axis'], groupSize: number): QuantizerConfig => ({ bits, backend: 'quanto', axis, groupSize, metaDtype: 'fp16', hqqMode: 'faithful' });
const kv = (kb: number, vb: number, g = 8, axis: QuantizerConfig['axis'] = 'per-token'): KvQuantConfig => ({ key: quantizer(kb, axis, g), value: quantizer(vb, 'per-token', g) });

describe('reference onQuery hook', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadStories260k();
  });

  it('hands each layer its post-RoPE query; layer 0 at position 3 equals RoPE(W_Q rmsnorm(embedding))', () => {
    const c = model.config;
    const seen: { layer: number; pos: number; q: Float64Array }[] = [];
    const ref = new ReferenceModel(c, model.weights, { maxSequence: 8, onQuery: (layer, q, pos) => seen.push({ layer, pos, q: q.slice() }) });
    const tokens = [1, 403, 407, 261];
    tokens.forEach((t, pos) => ref.forward(t, pos));
    expect(seen).toHaveLength(tokens.length * c.layers);
    // Independent float64 recomputation for layer 0 (its input is the embedding row itself).
    const dim = c.hiddenSize;
    const x = Array.from({ length: dim }, (_, i) => model.weights.embed[tokens[3] * dim + i]);
    const scale = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / dim + c.rmsEps);
    const xn = x.map((v, i) => v * scale * model.weights.layers[0].attnNorm[i]);
    const qDim = c.heads * c.headDim;
    const q = new Float64Array(qDim);
    for (let r = 0; r < qDim; r++) for (let i = 0; i < dim; i++) q[r] += model.weights.layers[0].wq[r * dim + i] * xn[i];
    applyRope(q, c.heads, 3, ropeInverseFrequencies(c.headDim, c.ropeTheta, c.ropeScaling), c);
    const got = seen.find((s) => s.layer === 0 && s.pos === 3)!.q;
    for (let i = 0; i < qDim; i++) expect(Math.abs(got[i] - q[i])).toBeLessThan(1e-9);
  });

  it('sampleKvCache withQueries: 8-bit caches barely move attention, 2-bit keys move it a lot', () => {
    const c = model.config;
    const docs = [[1, 403, 407, 261, 300, 12], [1, 50, 60]];
    const sample = sampleKvCache(c, model.weights, docs, { withQueries: true });
    expect(sample[2].queries!.rows).toBe(9);
    // The queries recorded in the sample are the ones the hook saw (row = document offset + position).
    const seen: Float64Array[] = [];
    const ref = new ReferenceModel(c, model.weights, { maxSequence: 8, onQuery: (layer, q) => layer === 2 && seen.push(q.slice()) });
    docs[1].forEach((t, pos) => ref.forward(t, pos));
    const qDim = c.heads * c.headDim;
    expect(Array.from(sample[2].queries!.data.subarray(7 * qDim, 8 * qDim))).toEqual(Array.from(seen[1]));
    const fine = quantizedAttentionMetrics(c, sample, [6, 3], kv(8, 8));
    const coarse = quantizedAttentionMetrics(c, sample, [6, 3], kv(2, 8));
    fine.forEach((l, i) => {
      expect(l.klMean).toBeLessThan(0.01);
      expect(l.keyRelativeError).toBeLessThan(0.02);
      expect(coarse[i].klMean).toBeGreaterThan(20 * l.klMean);
    });
  });
});

describe('quantizedAttentionMetrics on random caches', () => {
  const config = { heads: 4, kvHeads: 2, headDim: 8 } as ModelConfig;
  const sample = (tokens: number) => {
    const rand = (rows: number, cols: number) => matrix(rows, cols, Array.from({ length: rows * cols }, randn));
    const keys = rand(tokens, 16);
    return [{ keys, keysPreRope: keys, values: rand(tokens, 16), queries: rand(tokens, 32) }];
  };

  it('per-channel groups quantize whole blocks of G tokens and keep the ragged tail exact', () => {
    expect(quantizableTokens(21, 2, 8, quantizer(2, 'per-channel', 8))).toBe(16);
    expect(quantizableTokens(21, 2, 8, quantizer(2, 'per-token', 8))).toBe(21);
    const s = sample(21);
    const [m] = quantizedAttentionMetrics(config, s, [21], kv(2, 8, 8, 'per-channel'));
    expect(m.quantizedTokens).toBe(16);
    // Against a direct computation: quantize the first 16 tokens in [1, H, S, D], keep the tail, attend.
    const kvDim = 16;
    const bhsd = new Float32Array(2 * 16 * 8);
    for (let t = 0; t < 16; t++) for (let h = 0; h < 2; h++) for (let d = 0; d < 8; d++) bhsd[(h * 16 + t) * 8 + d] = s[0].keys.data[t * kvDim + h * 8 + d];
    const deq = fakeQuantize(bhsd, [1, 2, 16, 8], quantizer(2, 'per-channel', 8));
    const qk = Float64Array.from(s[0].keys.data);
    for (let t = 0; t < 16; t++) for (let h = 0; h < 2; h++) for (let d = 0; d < 8; d++) qk[t * kvDim + h * 8 + d] = deq[(h * 16 + t) * 8 + d];
    const qv = Float64Array.from(fakeQuantize(Float32Array.from(s[0].values.data), [1, 1, 21 * 2, 8], quantizer(8, 'per-token', 8)));
    // per-token groups along headDim are layout-independent, so the [T, H*D] order quantizes the same
    const direct = attentionMetrics({ heads: 4, kvHeads: 2, headDim: 8, queries: s[0].queries.data, keys: s[0].keys.data, values: s[0].values.data, quantizedKeys: qk, quantizedValues: qv });
    expect(m.klMean).toBeCloseTo(direct.klMean, 12);
    expect(m.keyRelativeError).toBeCloseTo(direct.keyRelativeError, 12);
    expect(m.outputRelativeError).toBeCloseTo(direct.outputRelativeError, 12);
    for (let i = 16 * kvDim; i < 21 * kvDim; i++) expect(qk[i]).toBe(s[0].keys.data[i]);
  });

  it('fewer key bits, larger KL; the KL ignores the value bits', () => {
    const s = sample(24);
    const [k2] = quantizedAttentionMetrics(config, s, [12, 12], kv(2, 4));
    const [k4] = quantizedAttentionMetrics(config, s, [12, 12], kv(4, 2));
    const [k2v8] = quantizedAttentionMetrics(config, s, [12, 12], kv(2, 8));
    expect(k2.klMean).toBeGreaterThan(k4.klMean);
    expect(k2v8.klMean).toBeCloseTo(k2.klMean, 12);
    expect(k2v8.valueRelativeError).toBeLessThan(k2.valueRelativeError);
  });
});

describe('runAnalysis on stories260K', () => {
  it('matches analyzeNorms, flattens into layer_stats / run_metrics, and runs in a thread', async () => {
    const r = await runAnalysis({ model: 'stories260k', data: 'tinystories', limit: 3, maxTokens: 48, quant: kv(2, 4) });
    expect(r.documents).toBe(3);
    expect(r.tokens).toBeLessThanOrEqual(3 * 48);
    expect(r.verdictLine).toMatch(/^K > V in 5\/5 layers \(weights Frobenius\), 5\/5 \(weights spectral\), 5\/5 \(cache Frobenius\)/);
    const model = await loadStories260k();
    const stats = toLayerStats(r);
    const get = (layer: number, tensor: 'k' | 'v', metric: string) => stats.find((s) => s.layer === layer && s.tensor === tensor && s.metric === metric)?.value;
    expect(get(0, 'k', 'wk.frobenius')).toBeCloseTo(10.240015, 5);
    expect(get(4, 'v', 'wv.spectral')).toBeCloseTo(1.351686, 5);
    expect(get(2, 'k', 'k.sv.0')).toBe(r.layers[2].k!.singularValues[0]);
    expect(get(2, 'k', 'k.frobenius')).toBe(r.layers[2].k!.frobenius);
    expect(get(1, 'v', 'v.headsv.max.0')).toBe(r.layers[1].v!.headSingularValues.max[0]);
    expect(get(3, 'k', 'attn.klMean')).toBe(r.layers[3].attention!.klMean);
    expect(get(3, 'v', 'attn.outputRelError')).toBe(r.layers[3].attention!.outputRelativeError);
    expect(stats.filter((s) => s.metric.startsWith('k.sv.') && s.layer === 0)).toHaveLength(model.config.kvHeads * model.config.headDim);
    const m = toRunMetrics(r);
    expect(m).toMatchObject({ layers: 5, 'layersKgtV.frobenius': 5, 'layersKgtV.spectral': 5, 'layersKgtV.cache.frobenius': 5, documents: 3 });
    expect(m['attn.klMean']).toBeGreaterThan(0);

    // The same analysis in a worker thread (what analyze jobs use): the same numbers.
    const threaded = await analyze({ model: 'stories260k', data: 'tinystories', limit: 3, maxTokens: 48, quant: null });
    expect(threaded.tokens).toBe(r.tokens);
    threaded.layers.forEach((l, i) => {
      expect(l.k!.frobenius).toBeCloseTo(r.layers[i].k!.frobenius, 9);
      expect(l.attention).toBeUndefined();
    });
    expect(analyzeNorms(model.config, model.weights).verdict.weightFrobenius).toBe(5);
  }, 60_000);

  it('errors name the field', async () => {
    await expect(runAnalysis({ model: 'stories260k', data: 'gsm8k', limit: 2, maxTokens: 32, quant: null })).rejects.toThrow(/^format|^data/);
    await expect(runAnalysis({ model: 'stories260k', data: null, limit: 2, maxTokens: 32, quant: kv(4, 2) })).rejects.toThrow(/^data:/);
    await expect(runAnalysis({ model: 'stories260k', data: 'tinystories', limit: 0, maxTokens: 32, quant: null })).rejects.toThrow(/^limit:/);
  });
});
