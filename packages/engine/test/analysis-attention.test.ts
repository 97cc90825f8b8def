import { describe, expect, it } from 'vitest';
import { attentionMetrics, distributionKl, relativeError, softmax } from '../src/analysis/attention';
import { randn } from './analysis-helpers';

describe('attention-level metrics', () => {
  it('softmax, KL and relative error on hand-computed cases', () => {
    const p = softmax([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 15);
    expect(p[1]).toBeCloseTo(0.75, 15);
    expect(softmax([1000, 1000])[0]).toBe(0.5); // stable for large scores
    expect(distributionKl([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 15);
    expect(distributionKl([1, 0], [0.5, 0.5])).toBeCloseTo(Math.log(2), 15);
    expect(distributionKl([0.5, 0.5], [1, 0])).toBe(Infinity);
    expect(distributionKl([0.3, 0.7], [0.3, 0.7])).toBe(0);
    expect(relativeError([3, 4], [3, 4])).toBe(0);
    expect(relativeError([3, 4], [0, 4])).toBeCloseTo(3 / 5, 15);
    expect(relativeError([0, 0], [0, 0])).toBe(0);
  });

  it('one query, two keys: KL, key/value/output errors by hand', () => {
    // q = 1, k = [0, ln 3] (scale 1) -> p = [1/4, 3/4]; quantized keys [0, 0] -> [1/2, 1/2].
    // values [1, 5]: O = 1/4 + 15/4 = 4; quantized values [1, 5] -> Ô = 3; |Ô - O|/|O| = 1/4.
    const m = attentionMetrics({
      heads: 1, kvHeads: 1, headDim: 1, scale: 1,
      queries: [1], positions: [1],
      keys: [0, Math.log(3)], quantizedKeys: [0, 0],
      values: [1, 5], quantizedValues: [1, 5],
    });
    expect(m.klMean).toBeCloseTo(0.25 * Math.log(0.25 / 0.5) + 0.75 * Math.log(0.75 / 0.5), 14);
    expect(m.klMax).toBe(m.klMean);
    expect(m.keyRelativeError).toBe(1);
    expect(m.valueRelativeError).toBe(0);
    expect(m.outputRelativeError).toBeCloseTo(0.25, 14);
  });

  it('causal masking and GQA: query 0 sees only key 0; two query heads share one KV head', () => {
    // heads 2, kvHeads 1, headDim 1. Query row 0 (position 0): one key, KL 0 whatever the keys.
    // Query row 1 (position 1): head 0 has q = 1 (KL as above), head 1 has q = 0 (uniform both ways, KL 0).
    const m = attentionMetrics({
      heads: 2, kvHeads: 1, headDim: 1, scale: 1,
      queries: [5, -2, 1, 0],
      keys: [0, Math.log(3)], quantizedKeys: [0, 0],
      values: [1, 5], quantizedValues: [1, 5],
    });
    const kl = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
    expect(m.klMean).toBeCloseTo(kl / 4, 14);
    expect(m.klMax).toBeCloseTo(kl, 14);
    // outputs: row 0 both heads = 1 (exact); row 1 head 0: 4 vs 3, head 1: 3 vs 3.
    expect(m.outputRelativeError).toBeCloseTo(1 / Math.sqrt(1 + 1 + 16 + 9), 14);
    // non-causal: every query sees both keys
    const nc = attentionMetrics({
      heads: 1, kvHeads: 1, headDim: 1, scale: 1, causal: false,
      queries: [1, 1], keys: [0, Math.log(3)], quantizedKeys: [0, 0], values: [1, 5], quantizedValues: [1, 5],
    });
    expect(nc.klMean).toBeCloseTo(kl, 14);
  });

  it('value-only quantization leaves KL at 0 and bounds the output error (float64 reference on random data)', () => {
    const heads = 4, kvHeads = 2, headDim = 8, tokens = 20;
    const kvDim = kvHeads * headDim;
    const keys = Float64Array.from({ length: tokens * kvDim }, randn);
    const values = Float64Array.from({ length: tokens * kvDim }, randn);
    const noisy = values.map((v) => v + 0.01 * randn());
    const queries = Float64Array.from({ length: tokens * heads * headDim }, randn);
    const m = attentionMetrics({ heads, kvHeads, headDim, queries, keys, values, quantizedKeys: keys, quantizedValues: noisy });
    expect(m.klMean).toBe(0);
    expect(m.keyRelativeError).toBe(0);
    expect(m.valueRelativeError).toBeGreaterThan(0);
    expect(m.outputRelativeError).toBeGreaterThan(0);
    // Direct float64 recomputation of the output error for this sample.
    let num = 0, den = 0;
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / (heads / kvHeads));
        const s = Array.from({ length: t + 1 }, (_, j) => {
          let d = 0;
          for (let i = 0; i < headDim; i++) d += queries[t * heads * headDim + h * headDim + i] * keys[j * kvDim + g * headDim + i];
          return d / Math.sqrt(headDim);
        });
        const mx = Math.max(...s);
        const e = s.map((x) => Math.exp(x - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < headDim; i++) {
          let o = 0, oq = 0;
          for (let j = 0; j <= t; j++) {
            o += (e[j] / z) * values[j * kvDim + g * headDim + i];
            oq += (e[j] / z) * noisy[j * kvDim + g * headDim + i];
          }
          num += (o - oq) ** 2;
          den += o * o;
        }
      }
    }
    expect(Math.abs(m.outputRelativeError - Math.sqrt(num / den))).toBeLessThan(1e-12);
  });

  it('rejects inconsistent shapes, naming the field', () => {
    expect(() => attentionMetrics({ heads: 1, kvHeads: 1, headDim: 2, queries: [1, 1], keys: [1, 2], values: [1], quantizedKeys: [1, 2], quantizedValues: [1, 2] })).toThrow(/values/);
    expect(() => attentionMetrics({ heads: 3, kvHeads: 2, headDim: 1, queries: [1, 1, 1], keys: [1, 2], values: [1, 2], quantizedKeys: [1, 2], quantizedValues: [1, 2] })).toThrow(/kvHeads/);
  });
});
