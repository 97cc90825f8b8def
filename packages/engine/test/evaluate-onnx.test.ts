// The ONNX Runtime path (the default engine) against the independent reference table and against the
// float64 reference sessions on the cache policies the table does not cover.
import { describe, expect, it } from 'vitest';
import { REFERENCE_ROWS, agrees, referenceOptions } from '../../../bench/engine/reference-table';
import { evaluate, type CachePolicy, type EvalOptions } from '../src';

describe('evaluate on ONNX Runtime (cpu)', () => {
  it('reproduces the quanto K4V2 per-token row of the stories260K reference table', async () => {
    const row = REFERENCE_ROWS.find((r) => r.id === 'k4v2')!;
    const r = await evaluate(referenceOptions(row.quant!('fp32')));
    expect(r.engine).toBe('onnx');
    expect(r.provider).toBe('cpu');
    expect(r.metrics.scoredTokens).toBe(1823);
    expect(agrees(r.metrics.perplexityFp!, 3.6143, 4)).toBe(true);
    expect(agrees(r.metrics.perplexity!, row.expected.ppl, 4)).toBe(true);
    expect(agrees(r.metrics.kl!, row.expected.kl, 5)).toBe(true);
    expect(r.metrics.top1!).toBeCloseTo(row.expected.top1, 4);
  });

  const quantizer = (bits: number, axis: 'per-token' | 'per-channel', groupSize: number) => ({ bits, backend: 'quanto' as const, axis, groupSize, metaDtype: 'fp16' as const, hqqMode: 'faithful' as const });
  const policies: [string, CachePolicy][] = [
    ['per-channel K2, keep-residual, requantize', { quant: { key: quantizer(2, 'per-channel', 16), value: quantizer(4, 'per-token', 8) }, residualLength: 16, prefill: 'keep-residual', residualMode: 'requantize', mode: 'packed' }],
    ['residual 0, per-token G=16 spanning two tokens', { quant: { key: quantizer(3, 'per-token', 16), value: quantizer(2, 'per-token', 16) }, residualLength: 0, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' }],
  ];
  it.each(policies)('agrees with the float64 reference sessions: %s', async (_, cache) => {
    const options: EvalOptions = { ...referenceOptions(null, 3), prompt: 24, maxTokens: 72, cache };
    const onnx = await evaluate(options, {}, { inThread: false });
    const reference = await evaluate(options, {}, { engine: 'reference', inThread: false });
    expect(onnx.metrics.scoredTokens).toBe(reference.metrics.scoredTokens);
    // float32 graph vs float64 reference: a rare code flips at a rounding tie, nothing more.
    expect(Math.abs(onnx.metrics.perplexity! / reference.metrics.perplexity! - 1)).toBeLessThan(2e-4);
    expect(Math.abs(onnx.metrics.kl! - reference.metrics.kl!)).toBeLessThan(2e-3 * reference.metrics.kl! + 1e-6);
    expect(Math.abs(onnx.metrics.top1! - reference.metrics.top1!)).toBeLessThanOrEqual(1 / onnx.metrics.scoredTokens!);
    expect(onnx.memory.kvBytesPerToken).toBe(reference.memory.kvBytesPerToken);
  });

  it('mc-decode (snapshot / restore of the ONNX cache) and gen-exact agree with the reference sessions', async () => {
    const cache: CachePolicy = { quant: { key: quantizer(2, 'per-token', 8), value: quantizer(2, 'per-token', 8) }, residualLength: 8, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
    const mc: EvalOptions = { ...referenceOptions(null, 2), data: 'arc-easy', protocol: 'mc-decode', cache };
    const [onnx, reference] = [await evaluate(mc, {}, { inThread: false }), await evaluate(mc, {}, { engine: 'reference', inThread: false })];
    expect(onnx.samples.map((s) => s.output)).toEqual(reference.samples.map((s) => s.output));
    expect(onnx.metrics.scoredTokens).toBe(reference.metrics.scoredTokens);
    expect(Math.abs(onnx.metrics.kl! - reference.metrics.kl!)).toBeLessThan(2e-3 * reference.metrics.kl!);
    const gen: EvalOptions = { ...referenceOptions(null, 1), data: 'gsm8k', protocol: 'gen-exact', fewShot: 0, maxTokens: 24, cache: { ...cache, quant: { key: quantizer(4, 'per-token', 8), value: quantizer(4, 'per-token', 8) } } };
    const [g1, g2] = [await evaluate(gen, {}, { inThread: false }), await evaluate(gen, {}, { engine: 'reference', inThread: false })];
    expect(g1.samples[0].outputFp).toBe(g2.samples[0].outputFp);
    expect(g1.samples[0].output).toBe(g2.samples[0].output);
  });
});
