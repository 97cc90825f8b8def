// Protocol additions of issue 6: the 'analyze' run protocol and the key-first sweep template.
import { describe, expect, it } from 'vitest';
import { canonicalRun, configHash, expandSweep, parseRunConfig, planMemory, SWEEP_TEMPLATES, ValidationError } from '../src/index';

describe('key-first sweep template', () => {
  it('expands to the 16 cells K in {2,3,4,8} x V in {2,3,4,8}, each (b, b\') with its mirror', () => {
    const x = expandSweep({ template: 'key-first', models: ['stories260k'], benchmarks: ['tinystories'], groupSizes: [8] });
    expect(x.cells).toHaveLength(16);
    const labels = new Set(x.cells.map((c) => `K${c.config.keyBits}V${c.config.valueBits}`));
    for (const k of [2, 3, 4, 8]) for (const v of [2, 3, 4, 8]) expect(labels.has(`K${k}V${v}`)).toBe(true);
    expect(SWEEP_TEMPLATES['key-first']).toHaveLength(16);
    expect(x.spec.pairs).toHaveLength(16);
  });

  it('refuses a template together with explicit pairs, naming the field', () => {
    expect(() => expandSweep({ template: 'key-first', pairs: ['K4V2'], models: ['stories260k'], benchmarks: ['tinystories'] })).toThrow(ValidationError);
    try {
      expandSweep({ template: 'key-first', keyBits: [4], valueBits: [2], models: ['stories260k'], benchmarks: ['tinystories'] });
    } catch (e) {
      expect((e as ValidationError).issues[0].field).toBe('template');
    }
    expect(() => expandSweep({ template: 'nope', models: ['stories260k'], benchmarks: ['tinystories'] })).toThrow(/template/);
  });
});

describe("protocol 'analyze'", () => {
  it('defaults to K16V16 and nulls the cache-policy fields it cannot use', () => {
    const c = parseRunConfig({ model: 'stories260k', benchmark: 'tinystories', protocol: 'analyze', limit: 4, maxTokens: 64 });
    expect(c).toMatchObject({ protocol: 'analyze', keyBits: 16, valueBits: 16, backend: null, residualLength: null });
    const q = parseRunConfig({ model: 'stories260k', benchmark: 'tinystories', protocol: 'analyze', keyBits: 4, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, residualLength: 32 });
    expect(q).toMatchObject({ keyBits: 4, valueBits: 2, backend: 'quanto', keyGroupSize: 8, residualLength: null, prefill: null, residualMode: null, cacheMode: null });
    // the residual cannot change an analysis: same hash whatever it says
    const other = canonicalRun({ model: 'stories260k', benchmark: 'tinystories', protocol: 'analyze', keyBits: 4, valueBits: 2, keyGroupSize: 8, valueGroupSize: 8, residualLength: 0 });
    expect(other.hash).toBe(configHash(q));
    expect(planMemory(c).deviceClass).toBe('cpu');
  });

  it('keeps every existing hash (no new field in the canonical config)', () => {
    const c = parseRunConfig({ model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2 });
    expect(Object.keys(c)).not.toContain('kind');
    expect(c.protocol).toBe('ppl-decode');
  });

  it('only runs on text benchmarks', () => {
    expect(() => parseRunConfig({ model: 'stories260k', benchmark: 'gsm8k', protocol: 'analyze' })).toThrow(/protocol/);
  });
});
