import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadedModel } from '../src/model/config';
import { sampleKvCache } from '../src/analysis/cache-sample';
// Relative until @kvbench/quant's index re-exports budget/ (then: from '@kvbench/quant').
import { KVQ_BIT_RANGE, allocateBits } from '@kvbench/quant';
import { analyzeNorms, formatVerdict, layerSensitivities } from '../src/analysis/norm-disparity';
import { weightNorms } from '../src/analysis/weight-norms';
import { applyRope, ropeInverseFrequencies } from '../src/reference/rope';
import { Llama2cTokenizer } from '../src/tokenizer/llama2c';
import { loadStories260k, readText, STORIES_TOKENIZER, TINYSTORIES } from './analysis-helpers';
import { readFileSync } from 'node:fs';

// /work/shared/spec/reference-stories260k.md, computed by an independent float64 NumPy implementation.
const REFERENCE = [
  { wkF: 10.240015, wvF: 2.0903, wkS: 8.318957, wvS: 0.637009 },
  { wkF: 10.462956, wvF: 2.222579, wkS: 8.352987, wvS: 0.629266 },
  { wkF: 8.273525, wvF: 2.763706, wkS: 6.200365, wvS: 0.876754 },
  { wkF: 9.258603, wvF: 3.202568, wkS: 7.459068, wvS: 0.966284 },
  { wkF: 6.874638, wvF: 4.661452, wkS: 4.888347, wvS: 1.351686 },
];

function sampleDocuments(model: LoadedModel, count: number, maxTokens: number): number[][] {
  const tok = Llama2cTokenizer.parse(readFileSync(STORIES_TOKENIZER), model.config.vocabSize, STORIES_TOKENIZER);
  const docs = readText(TINYSTORIES).split(/\n\s*\n/).map((d) => d.trim()).filter((d) => d.length > 0);
  return docs.slice(0, count).map((d) => tok.encode(d, { bos: true }).slice(0, maxTokens));
}

describe('K/V norm disparity on stories260K', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadStories260k();
  });

  it('W_K and W_V Frobenius and spectral norms match the independent reference table to 1e-5', () => {
    const norms = weightNorms(model.config, model.weights);
    expect(norms).toHaveLength(REFERENCE.length);
    norms.forEach((n, l) => {
      expect(Math.abs(n.wk.frobenius - REFERENCE[l].wkF)).toBeLessThan(1e-5);
      expect(Math.abs(n.wv.frobenius - REFERENCE[l].wvF)).toBeLessThan(1e-5);
      expect(Math.abs(n.wk.spectral - REFERENCE[l].wkS)).toBeLessThan(1e-5);
      expect(Math.abs(n.wv.spectral - REFERENCE[l].wvS)).toBeLessThan(1e-5);
      // Per-head norms: squares add up to the whole; each head's spectral norm is at most the whole's.
      expect(n.wk.heads).toHaveLength(model.config.kvHeads);
      const sumSq = n.wk.heads.reduce((s, h) => s + h.frobenius ** 2, 0);
      expect(Math.abs(sumSq - n.wk.frobenius ** 2) / sumSq).toBeLessThan(1e-12);
      for (const h of [...n.wk.heads, ...n.wv.heads]) expect(h.spectral).toBeLessThanOrEqual(Math.max(n.wk.spectral, n.wv.spectral) + 1e-12);
    });
  });

  it('caches a sample: pre-RoPE keys rotate back to the cached keys and keep each token norm', () => {
    const docs = sampleDocuments(model, 2, 40);
    const sample = sampleKvCache(model.config, model.weights, docs);
    const { kvHeads, headDim } = model.config;
    const kvDim = kvHeads * headDim;
    const invFreq = ropeInverseFrequencies(headDim, model.config.ropeTheta, null);
    const layer = sample[3];
    expect(layer.keys.rows).toBe(docs[0].length + docs[1].length);
    for (const [row, pos] of [[0, 0], [7, 7], [docs[0].length + 5, 5]]) {
      const pre = layer.keysPreRope.data.slice(row * kvDim, (row + 1) * kvDim);
      const post = layer.keys.data.subarray(row * kvDim, (row + 1) * kvDim);
      if (pos === 0) expect(Array.from(pre)).toEqual(Array.from(post));
      applyRope(pre, kvHeads, pos, invFreq, model.config);
      for (let i = 0; i < kvDim; i++) expect(Math.abs(pre[i] - post[i])).toBeLessThan(1e-12);
    }
  });

  it('analyzeNorms: per-layer output shape, spectra, bands and a verdict (keys ~10x values here)', () => {
    const analysis = analyzeNorms(model.config, model.weights, sampleDocuments(model, 3, 48));
    const { layers, verdict } = analysis;
    expect(layers).toHaveLength(5);
    for (const l of layers) {
      for (const c of [l.k!, l.kPreRope!, l.v!]) {
        expect(c.singularValues).toHaveLength(model.config.kvHeads * model.config.headDim);
        expect(c.spectral).toBe(c.singularValues[0]);
        const ss = c.singularValues.reduce((s, x) => s + x * x, 0);
        expect(Math.abs(ss - c.frobenius ** 2) / ss).toBeLessThan(1e-12);
        const band = c.headSingularValues;
        expect(band.mean).toHaveLength(model.config.headDim);
        band.mean.forEach((m, i) => {
          expect(band.min[i]).toBeLessThanOrEqual(m + 1e-12);
          expect(band.max[i]).toBeGreaterThanOrEqual(m - 1e-12);
        });
      }
      // RoPE rotates each token's key: the cache's Frobenius norm is unchanged, its spectrum is not.
      expect(Math.abs(l.k!.frobenius - l.kPreRope!.frobenius) / l.k!.frobenius).toBeLessThan(1e-12);
    }
    expect(verdict.layers).toBe(5);
    expect(verdict.weightFrobenius).toBe(5);
    expect(verdict.weightSpectral).toBe(5);
    expect(verdict.cacheFrobenius).toBe(5);
    expect(verdict.cacheSpectral).toBe(5);
    expect(formatVerdict(verdict)).toContain('5/5');
    // JSON shape the CLI will print.
    const json = JSON.parse(JSON.stringify(analysis));
    expect(typeof json.layers[0].wk.frobenius).toBe('number');
    expect(Array.isArray(json.layers[0].k.singularValues)).toBe(true);
    // The norm-aware budget fed by these sensitivities (not shipped constants): keys get the bits.
    for (const score of ['frobenius', 'spectral'] as const) {
      for (const source of ['weights', 'cache'] as const) {
        const s = layerSensitivities(analysis, score, source);
        const a = allocateBits({ keySensitivities: s.key, valueSensitivities: s.value, budget: 4, bitRange: KVQ_BIT_RANGE });
        expect(a.used).toBeLessThanOrEqual(a.target + 1e-6);
        a.keyBits.forEach((kb, l) => expect(kb).toBeGreaterThanOrEqual(a.valueBits[l]));
        expect(a.keyBits.reduce((x, y) => x + y, 0)).toBeGreaterThan(a.valueBits.reduce((x, y) => x + y, 0));
      }
    }
    const sens = layerSensitivities(analysis, 'spectral');
    expect(sens.key[0]).toBeCloseTo(REFERENCE[0].wkS, 5);
    expect(layerSensitivities(analysis, 'frobenius', 'cache').value[4]).toBe(layers[4].v!.frobenius);
  });
});
