// EvalOptions.dtype: both sessions in float16 (as GPUs serve models), recorded in the result; the same
// evaluation within float16's tolerance of float32 on the real stories260K.
import { describe, expect, it } from 'vitest';
import { createEvaluationHost, evaluate, type EvalOptions } from '../src';

const quantizer = (bits: number) => ({ bits, backend: 'quanto' as const, axis: 'per-token' as const, groupSize: 8, metaDtype: 'fp16' as const, hqqMode: 'faithful' as const });
const options: EvalOptions = {
  model: 'stories260k',
  data: 'tinystories',
  protocol: 'ppl-decode',
  prompt: 16,
  maxTokens: 96,
  limit: 3,
  cache: { quant: { key: quantizer(4), value: quantizer(2) }, residualLength: 16, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' },
  provider: 'cpu',
};

describe('EvalOptions.dtype', () => {
  it('float16 runs both sessions in float16, says so in the record, and stays within float16 tolerance of float32', async () => {
    const host = createEvaluationHost();
    try {
      const f32 = await host.evaluate(options);
      const f16 = await host.evaluate({ ...options, dtype: 'float16' });
      expect(f16.device).toMatch(/, float16$/);
      expect(f16.protocolRecord).toMatchObject({ dtype: 'float16' });
      expect(f32.device).not.toMatch(/float16/);
      expect(f32.protocolRecord?.dtype).toBeUndefined();
      // Not the same sessions: the pool keys on the dtype.
      expect(host.stats().sessionCreates).toBe(4);
      const [a, b] = [f32.metrics.perplexity!, f16.metrics.perplexity!];
      expect(Number.isFinite(b)).toBe(true);
      expect(b).not.toBe(a);
      expect(Math.abs(b - a) / a).toBeLessThan(0.02);
      expect(Math.abs(f16.metrics.perplexityFp! - f32.metrics.perplexityFp!) / f32.metrics.perplexityFp!).toBeLessThan(0.02);
    } finally {
      await host.close();
    }
  });

  it('rejects other values and the float64 reference engine, naming the field', async () => {
    await expect(evaluate({ ...options, dtype: 'bfloat16' as never })).rejects.toThrow(/dtype: got "bfloat16", allowed: float32, float16/);
    await expect(evaluate({ ...options, dtype: 'float16' }, {}, { engine: 'reference' })).rejects.toThrow(/dtype: the reference engine computes in float64/);
  });
});
