// Issue 6 items 3-4 in the CLI: budget / turbo / rotation flags of `eval` (-> EvalOptions.cache), of
// `submit` and `sweep` (-> the API), the allocation table, and errors that name the flag.
import { describe, expect, it } from 'vitest';
import type { EvalResult } from '@kvbench/engine';
import { evalOptionsFromArgs, flagError, formatAllocation, formatResult, optionsLabel } from '../src/commands/eval';
import { useCliStack } from './http-stack';

const bench = ['--benchmark', 'tinystories'];

describe('kvbench eval: budget, turbo and rotation flags', () => {
  it('--budget fills CachePolicy.budget and the uniform quantizer the allocator starts from', () => {
    const { options } = evalOptionsFromArgs([...bench, '--budget', '4', '--bit-range', '8,1,1.58,2,4,6', '--score', 'frobenius', '--budget-source', 'cache', '--group-budget', '64', '--backend', 'hqq']);
    expect(options.cache.budget).toEqual({ bits: 4, bitRange: [1, 1.58, 2, 4, 6, 8], score: 'frobenius', source: 'cache', groupBudget: 64 });
    expect(options.cache.quant!.key).toMatchObject({ bits: 4, backend: 'hqq', groupSize: 64 });
    expect(options.cache.quant!.value).toMatchObject({ bits: 4, backend: 'hqq', groupSize: 64 });
    const d = evalOptionsFromArgs([...bench, '--budget', '3.5', '--group-size', '8']).options;
    expect(d.cache.budget).toEqual({ bits: 3.5, bitRange: [1, 1.58, 2, 4, 6, 8], score: 'spectral', source: 'weights', groupBudget: null });
    expect([d.cache.quant!.key.bits, d.cache.quant!.key.groupSize]).toEqual([4, 8]);
    expect(optionsLabel(d)).toBe('budget 3.5 (spectral)');
  });

  it('--compute-dtype float16 sets EvalOptions.dtype; without it the options have none; a bad value names the flag', () => {
    expect(evalOptionsFromArgs([...bench, '--compute-dtype', 'float16']).options.dtype).toBe('float16');
    expect(evalOptionsFromArgs(bench).options.dtype).toBeUndefined();
    expect(() => evalOptionsFromArgs([...bench, '--compute-dtype', 'half'])).toThrow(/--compute-dtype/);
  });

  it('--backend turbo: CachePolicy.turbo with the seed, the bits in quant.key/value.bits', () => {
    const { options } = evalOptionsFromArgs([...bench, '--backend', 'turbo', '--scheme', 'KV', '--kbits', '3', '--vbits', '2', '--seed', '7']);
    expect(options.cache.turbo).toEqual({ scheme: 'KV', seed: 7 });
    expect([options.cache.quant!.key.bits, options.cache.quant!.value.bits]).toEqual([3, 2]);
    expect(options.seed).toBe(7);
    expect(options.cache.rotation).toBeUndefined();
    expect(evalOptionsFromArgs([...bench, '--backend', 'turbo', '--kbits', '3', '--vbits', '3']).options.cache.turbo).toEqual({ scheme: 'KQV', seed: 0 });
    expect(optionsLabel(options)).toBe('TQ-KV K3V2');
  });

  it('--rotation hadamard: CachePolicy.rotation next to a grouped quantizer; plain flags add no new keys', () => {
    const { options } = evalOptionsFromArgs([...bench, '--rotation', 'hadamard', '--seed', '3']);
    expect(options.cache.rotation).toEqual({ kind: 'hadamard', seed: 3 });
    expect(options.cache.quant!.key.backend).toBe('quanto');
    expect(optionsLabel(options)).toBe('K4V2 WHT');
    const plain = evalOptionsFromArgs(bench).options;
    expect(Object.keys(plain.cache).sort()).toEqual(['mode', 'prefill', 'quant', 'residualLength', 'residualMode']);
    expect(plain.seed).toBeUndefined();
  });

  it.each([
    [['--budget', 'four'], /--budget: got "four", allowed: a number of bits in 1\.\.8/],
    [['--budget', '5', '--bit-range', '1,2,4'], /--budget: 5 is outside the bit range \[1, 4\] \(--bit-range\)/],
    [['--budget', '4', '--bit-range', '1,1.5,4'], /--bit-range: width 2 is "1\.5", allowed: integers 1\.\.8, or 1\.58/],
    [['--budget', '4', '--kbits', '2'], /--kbits: set by --budget in budget mode \(round\(4\) = 4\); omit it/],
    [['--budget', '4', '--backend', 'turbo'], /--budget needs --backend quanto or hqq/],
    [['--budget', '4', '--key-axis', 'quanto-per-channel'], /--key-axis: budget mode needs per-token or per-channel/],
    [['--budget', '4', '--group-budget', '8'], /--group-budget: got "8", allowed: an integer >= 16/],
    [['--budget', '4', '--group-budget', '512'], /--group-budget: got 512, allowed: an integer in 16\.\.256/],
    [['--budget', '4', '--score', 'nuclear'], /--score: got "nuclear", allowed: frobenius, spectral/],
    [['--score', 'spectral'], /--score goes with --budget B/],
    [['--scheme', 'KV'], /--scheme goes with --backend turbo/],
    [['--backend', 'turbo', '--scheme', 'QQ'], /--scheme: got "QQ", allowed: KV, KQV, QKQV/],
    [['--backend', 'turbo', '--rotation', 'hadamard'], /--rotation: turbo rotates by itself/],
    [['--kbits', '16', '--vbits', '16', '--rotation', 'hadamard'], /--rotation: a rotation needs a quantized cache/],
  ])('%j is refused, naming the flag', (argv, message) => {
    expect(() => evalOptionsFromArgs([...bench, ...argv])).toThrow(message);
  });

  it('maps engine errors about the new cache fields onto flags', () => {
    expect(flagError('cache.budget.bitRange: widths must be positive')).toBe('--bit-range: widths must be positive');
    expect(flagError('cache.budget: outside the range')).toBe('--budget: outside the range');
    expect(flagError('cache.turbo.scheme: unknown')).toBe('--scheme: unknown');
    expect(flagError('cache.rotation: head_dim 12 is not a power of two')).toBe('--rotation: head_dim 12 is not a power of two');
  });
});

const allocation: NonNullable<EvalResult['allocation']> = {
  budget: 3,
  bitRange: [1, 1.58, 2, 4, 6, 8],
  score: 'spectral',
  source: 'weights',
  groupBudget: null,
  keyBits: [4, 6],
  valueBits: [1.58, 2],
  keyGroupSizes: [64, 64],
  valueGroupSizes: [64, 64],
  keySensitivities: [3.25, 4.5],
  valueSensitivities: [0.75, 1],
  nominalBits: 3.395,
  storedBitsPerElement: 4.0,
  storedBitsPerElementHqq: 5.0,
};

describe('kvbench eval: the allocation table', () => {
  it('prints budget, stored bits (dense and HQQ) and one row per layer', () => {
    const lines = formatAllocation({ allocation });
    expect(lines[1]).toBe('allocation: budget 3 (spectral norms of W_K/W_V), widths 1,1.58,2,4,6,8');
    expect(lines[2]).toMatch(/nominal 3\.395 bits\/element; stored 4\.000 \(kvbench dense packing\), 5\.000 \(HQQ packing\)/);
    expect(lines.slice(-2)).toEqual(['0      4       1.58    64       64       3.2500         0.7500', '1      6       2       64       64       4.5000         1.0000']);
    expect(formatAllocation({})).toEqual([]);
  });

  it('formatResult shows it after a budget run, with the attention table when attn.* statistics come back', () => {
    const options = evalOptionsFromArgs([...bench, '--budget', '3']).options;
    const result: EvalResult = {
      metrics: { perplexity: 10.5 },
      memory: { kvBytesPerToken: 120, fp16BytesPerToken: 320, ratioToFp16: 0.375, peakRssBytes: 2 ** 27 },
      speed: { tokensPerSecond: 500, wallSeconds: 1.5 },
      provider: 'cpu',
      device: 'test',
      config: options,
      model: { name: 'stories260k', architecture: 'llama', weightsHash: 'abcdef0123456789' },
      benchmark: { name: 'tinystories', dataHash: '0123456789abcdef', items: 2 },
      versions: {},
      layerStats: [
        { layer: 0, tensor: 'k', metric: 'attn.klMean', value: 0.0125 },
        { layer: 0, tensor: 'k', metric: 'attn.relError', value: 0.05 },
        { layer: 0, tensor: 'v', metric: 'attn.relError', value: 0.1 },
        { layer: 0, tensor: 'v', metric: 'attn.outputRelError', value: 0.2 },
        { layer: 0, tensor: 'k', metric: 'alloc.bits', value: 4 },
      ],
      samples: [],
      nonFinite: 0,
      allocation,
    };
    const text = formatResult(result);
    expect(text).toMatch(/cache {6}budget 3 \(spectral\) quanto per-token G=64, widths 1,1\.58,2,4,6,8, residual 128 append/);
    expect(text).toContain('allocation: budget 3');
    expect(text).toMatch(/layer {2}attn KL mean/);
    expect(text).toMatch(/\n0 {6}0\.01250 {7}- {12}0\.0500 {6}0\.1000 {6}0\.2000/);
    // alloc.* and attn.* rows do not make an empty norms table
    expect(text).not.toMatch(/mean \|k\|/);
  });
});

describe('kvbench submit / sweep with the new flags (over HTTP)', () => {
  const { cli } = useCliStack();
  const run = ['--model', 'stories260k', '--benchmark', 'tinystories', '--group-size', '8', '--residual', '16', '--prompt', '16', '--max-tokens', '40', '--limit', '2'];

  it('submit --budget sends the budget fields; status shows the label', async () => {
    const r = await cli('submit', ...run, '--budget', '4', '--bit-range', '1,1.58,2,4,6,8', '--score', 'frobenius', '--budget-source', 'cache', '--group-budget', '64', '--json');
    expect(r.err).toBe('');
    const data = JSON.parse(r.out);
    expect(data.config).toMatchObject({ budget: 4, bitRange: [1, 1.58, 2, 4, 6, 8], budgetScore: 'frobenius', budgetSource: 'cache', groupBudget: 64, keyBits: 4, valueBits: 4, keyGroupSize: null });
    expect(data.label).toBe('budget 4 (frobenius, cache, G64)');
    expect(data.plan.kvNote).toMatch(/^estimate/);
    const s = await cli('status', data.id);
    expect(s.out).toMatch(/budget 4 \(frobenius, cache, G64\) stories260k tinystories/);
  });

  it('submit --backend turbo --scheme and --rotation hadamard', async () => {
    const t = JSON.parse((await cli('submit', ...run, '--bits', 'K3V3', '--backend', 'turbo', '--scheme', 'QKQV', '--json')).out);
    expect(t.config).toMatchObject({ backend: 'turbo', turboScheme: 'QKQV', keyGroupSize: null, keyAxis: null });
    expect(t.label).toBe('TQ-QKQV 3b');
    const w = JSON.parse((await cli('submit', ...run, '--bits', 'K4V2', '--rotation', 'hadamard', '--seed', '3', '--json')).out);
    expect(w.config).toMatchObject({ rotation: 'hadamard', seed: 3 });
    expect(w.label).toBe('K4V2 WHT');
  });

  it('errors name the field and the flag', async () => {
    const bad = await cli('submit', ...run, '--budget', '4', '--bit-range', '1,1.5');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bitRange\.1: got 1\.5, allowed: integers 1\.\.8, or 1\.58 \(ternary\) \[--bit-range\]/);
    const rot = await cli('submit', ...run, '--bits', 'K3V3', '--backend', 'turbo', '--rotation', 'hadamard');
    expect(rot.err).toMatch(/rotation: turbo rotates by itself.*\[--rotation\]/);
    const usage = await cli('submit', ...run, '--budget', 'x');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--budget: got "x", expected a number/);
  });

  it('sweep --template budget / turbo previews the findings grids; --budget alone needs no pairs', async () => {
    const grid = ['--models', 'stories260k', '--benchmarks', 'tinystories', '--group-sizes', '8', '--limit', '2', '--max-tokens', '40', '--prompt', '16'];
    const b = await cli('sweep', ...grid, '--template', 'budget', '--backends', 'quanto,hqq', '--preview');
    expect(b.out).toMatch(/^12 cells/);
    const t = await cli('sweep', ...grid, '--template', 'turbo', '--preview');
    expect(t.out).toMatch(/^12 cells/);
    const one = await cli('sweep', ...grid, '--budget', '3', '--score', 'spectral', '--preview', '--json');
    expect(JSON.parse(one.out).cells).toBe(1);
    const clash = await cli('sweep', ...grid, '--template', 'budget', '--score', 'spectral', '--preview');
    expect(clash.code).toBe(1);
    expect(clash.err).toMatch(/base\.budgetScore: set by template budget \[--score\]/);
  });
});
