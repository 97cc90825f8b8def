// kvRowsFor: whether a run's sessions can reserve cache rows, decided from the model's config and the
// policy before anything loads. Checked against what a real session resolves 'auto' to (on the CPU with
// fused attention forced, which is what a GPU provider gets by default for head_dim 16).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOnnxSession, generateRandomModel, kvRowsFor, loadModel, type CachePolicy, type EvalOptions } from '../src';

const quantizer = (bits: number, axis: 'per-token' | 'per-channel' = 'per-token') => ({ bits, backend: 'quanto' as const, axis, groupSize: 8, metaDtype: 'fp16' as const, hqqMode: 'faithful' as const });
const k4v2: CachePolicy = { quant: { key: quantizer(4), value: quantizer(2) }, residualLength: 8, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
const run = (model: string, cache: CachePolicy, provider: EvalOptions['provider'] = 'webgpu'): EvalOptions => ({ model, data: 'tinystories', protocol: 'ppl-decode', prompt: 8, maxTokens: 24, limit: 1, cache, provider });

let qwen3: string; // head_dim 16: fused attention on GPU providers
beforeAll(() => {
  qwen3 = generateRandomModel({ preset: 'tiny-qwen3-qknorm', outDir: join(mkdtempSync(join(tmpdir(), 'kvbench-rows-')), 'model'), seed: 5 }).dir;
});

describe('kvRowsFor', () => {
  const cases: { label: string; cache: CachePolicy; rows: 'exact' | 'reserve'; why?: RegExp }[] = [
    { label: 'fp16 cache', cache: { ...k4v2, quant: null }, rows: 'reserve' },
    { label: 'K4V2 per-token, packed', cache: k4v2, rows: 'reserve' },
    { label: 'per-channel keys', cache: { ...k4v2, quant: { key: quantizer(4, 'per-channel'), value: quantizer(2) } }, rows: 'exact', why: /one history row per token/ },
    { label: 'simulated', cache: { ...k4v2, mode: 'simulated' }, rows: 'exact', why: /packed mode/ },
    { label: 'requantize', cache: { ...k4v2, residualMode: 'requantize' }, rows: 'exact', why: /append/ },
  ];
  for (const c of cases) {
    it(`${c.label}: ${c.rows}, as a session with fused attention resolves 'auto'`, async () => {
      const decision = kvRowsFor(run(qwen3, c.cache));
      expect(decision.rows).toBe(c.rows);
      if (c.why) expect(decision.why).toMatch(c.why);
      else expect(decision.why).toBeNull();
      const session = await createOnnxSession(await loadModel(qwen3), c.cache, { attention: 'fused', kvRows: 'auto', maxContext: 64 });
      try {
        expect(session.kvRows).toBe(decision.rows);
      } finally {
        await session.dispose();
      }
    });
  }

  it('keeps exact rows where attention is plain (the CPU; head_dim 8) and for bit budgets', () => {
    expect(kvRowsFor(run(qwen3, k4v2, 'cpu'))).toMatchObject({ rows: 'exact', why: /fused attention/ });
    expect(kvRowsFor(run('stories260k', k4v2))).toMatchObject({ rows: 'exact', why: /fused attention/ });
    const budget = { ...k4v2, budget: { bits: 3, bitRange: [2, 4], score: 'spectral' as const, source: 'weights' as const, groupBudget: null } };
    expect(kvRowsFor(run(qwen3, budget))).toMatchObject({ rows: 'exact', why: /bit budget/ });
  });

  it('names the model or the field it cannot read', () => {
    expect(() => kvRowsFor(run('/no/such/model', k4v2))).toThrow(/no such file or directory/);
    expect(() => kvRowsFor(run(qwen3, { ...k4v2, residualLength: -1 }))).toThrow(/residualLength/);
  });
});
