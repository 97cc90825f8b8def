// Rows reserved ahead in the cache (kvRows 'reserve', runtime/cache-reserve.ts): the decoder's fused
// attention reads a right-padded past and keeps its rows, so the cache grows only when the tokens outgrow
// the rows. Checked on the CPU provider against the float64 reference (the quantizing one for packed
// caches) and against the same session with exact rows, across growths, chunked prefills over a padded
// past, flushes placed into a packed history's spare rows, and snapshot/restore.
import { describe, expect, it } from 'vitest';
import type { CachePolicy } from '../src/evaluation';
import { ReferenceModel } from '../src/reference';
import { createOnnxSession, defaultCachePolicy } from '../src/runtime';
import { powerOfTwoParts, prefillRuns, RESERVE_STEP, reservedRows } from '../src/runtime/cache-reserve';
import { quantizerConfig } from '@kvbench/quant';
import { k4v2Policy, randomTokens, relativeError, tinyModel, worstAgainstReference } from './graph-helpers';
import { QuantizedReference } from './runtime-emulator';

describe('reservedRows', () => {
  it('gives the smallest rung of 256, 512, 768, 1280, ... (x1.5, multiples of 256) that holds the tokens, capped at maxContext', () => {
    expect(RESERVE_STEP).toBe(256);
    expect(reservedRows(1, 16384)).toBe(256);
    expect(reservedRows(256, 16384)).toBe(256);
    expect(reservedRows(257, 16384)).toBe(512);
    expect(reservedRows(1000, 16384)).toBe(1280);
    expect(reservedRows(3000, 16384)).toBe(3072);
    expect(reservedRows(8193, 16384)).toBe(10496);
    expect(reservedRows(300, 400)).toBe(400);
    expect(reservedRows(400, 400)).toBe(400);
    // Prompts of 256..6000 tokens meet 8 row counts (1.5x in multiples of 256 gave 35).
    const rows = new Set<number>();
    for (let t = 256; t <= 6000; t++) rows.add(reservedRows(t, 1 << 20));
    expect([...rows]).toEqual([256, 512, 768, 1280, 2048, 3072, 4608, 6912]);
  });
});

describe('prefillRuns / powerOfTwoParts', () => {
  it('cut a count into whole chunks and descending powers of two that sum to it', () => {
    expect(powerOfTwoParts(0)).toEqual([]);
    expect(powerOfTwoParts(1)).toEqual([1]);
    expect(powerOfTwoParts(1000)).toEqual([512, 256, 128, 64, 32, 8]);
    expect(powerOfTwoParts(4096)).toEqual([4096]);
    expect(prefillRuns(1300, 512, true)).toEqual([512, 512, 256, 16, 4]);
    expect(prefillRuns(300, 96, true)).toEqual([96, 96, 96, 8, 4]);
    expect(prefillRuns(1300, 512, false)).toEqual([512, 512, 276]);
    expect(prefillRuns(1024, 512, false)).toEqual([512, 512]);
    for (let n = 1; n < 3000; n += 37) {
      expect(prefillRuns(n, 512, true).reduce((a, b) => a + b, 0)).toBe(n);
      expect(prefillRuns(n, 512, false).reduce((a, b) => a + b, 0)).toBe(n);
      expect(powerOfTwoParts(n).reduce((a, b) => a + b, 0)).toBe(n);
    }
  });
});

describe("kvRows 'reserve' (fused attention on the CPU)", () => {
  // 9 prompt tokens in chunks of 4 (later chunks run over a padded past), then steps past the first 256 rows.
  const PROMPT = 9;
  const TOTAL = 300;

  for (const family of ['tiny-llama3-gqa', 'tiny-qwen3-qknorm'] as const) {
    it(`${family}: matches the float64 reference and the exact-rows session across a growth (${TOTAL} tokens)`, async () => {
      const model = tinyModel(family, 3, { headDim: 16 });
      const tokens = randomTokens(TOTAL, model.config.vocabSize, 21);
      const reference = new ReferenceModel(model.config, model.weights, { maxSequence: TOTAL });
      const options = { attention: 'fused' as const, prefillChunk: 4, maxContext: 1024 };
      const reserved = await createOnnxSession(model, defaultCachePolicy(null), { ...options, kvRows: 'reserve' });
      const exact = await createOnnxSession(model, defaultCachePolicy(null), options);
      try {
        const { layers, kvHeads, headDim } = model.config;
        const rowBytes = 2 * layers * kvHeads * headDim * 4; // float32 K and V of every layer
        expect(relativeError(await reserved.prefill(tokens.slice(0, PROMPT)), await exact.prefill(tokens.slice(0, PROMPT)))).toBeLessThan(1e-6);
        expect(reserved.memory().heldBytes).toBe(PROMPT * rowBytes);
        expect(reserved.memory().reservedBytes).toBe(256 * rowBytes);
        let agreement = 0;
        for (let i = PROMPT; i < TOTAL; i++) agreement = Math.max(agreement, relativeError(await reserved.step(tokens[i]), await exact.step(tokens[i])));
        expect(agreement).toBeLessThan(1e-6);
        // 300 tokens outgrew 256 rows once: 1.5 x 257 -> 512.
        expect(reserved.memory()).toMatchObject({ tokens: TOTAL, heldBytes: TOTAL * rowBytes, reservedBytes: 512 * rowBytes });
        expect(exact.memory().reservedBytes).toBe(exact.memory().heldBytes);
        reserved.reset();
        expect(await worstAgainstReference(reserved, reference, tokens, PROMPT)).toBeLessThan(1e-4);
      } finally {
        await reserved.dispose();
        await exact.dispose();
      }
    });
  }

  it('restores a snapshot taken before a growth and continues as the exact-rows session does', async () => {
    const model = tinyModel('tiny-llama3-gqa', 5, { headDim: 16 });
    const tokens = randomTokens(280, model.config.vocabSize, 4);
    const options = { attention: 'fused' as const, maxContext: 1024 };
    const reserved = await createOnnxSession(model, defaultCachePolicy(null), { ...options, kvRows: 'reserve' });
    const exact = await createOnnxSession(model, defaultCachePolicy(null), options);
    try {
      await reserved.prefill(tokens.slice(0, 250));
      await exact.prefill(tokens.slice(0, 250));
      const before = reserved.snapshot();
      for (let i = 250; i < 280; i++) await reserved.step(tokens[i]);
      expect(reserved.memory().reservedBytes).toBeGreaterThan(reserved.memory().heldBytes);
      reserved.restore(before);
      expect(reserved.memory().tokens).toBe(250);
      let worst = 0;
      for (let i = 250; i < 280; i++) worst = Math.max(worst, relativeError(await reserved.step(tokens[i]), await exact.step(tokens[i])));
      expect(worst).toBeLessThan(1e-6);
    } finally {
      await reserved.dispose();
      await exact.dispose();
    }
  });

  it('rejects reserve without fused attention, with quantized caches it cannot place in rows, and unknown values, naming kvRows', async () => {
    const model = tinyModel('tiny-llama3-gqa', 1, { headDim: 16 });
    const fused = { attention: 'fused' as const, kvRows: 'reserve' as const };
    await expect(createOnnxSession(model, defaultCachePolicy(null), { attention: 'plain', kvRows: 'reserve' })).rejects.toThrow(/kvRows: reserve needs fused attention/);
    await expect(createOnnxSession(model, k4v2Policy({ mode: 'simulated' }), fused)).rejects.toThrow(/kvRows: reserve with a quantized cache needs the packed mode/);
    await expect(createOnnxSession(model, k4v2Policy({ residualMode: 'requantize' }), fused)).rejects.toThrow(/kvRows: .*residualMode 'append'/);
    const perChannel = k4v2Policy({ quant: { key: quantizerConfig({ bits: 4, axis: 'per-channel', groupSize: 8 }), value: quantizerConfig({ bits: 2, groupSize: 8 }) } });
    await expect(createOnnxSession(model, perChannel, fused)).rejects.toThrow(/kvRows: .*one history row per token/);
    await expect(createOnnxSession(model, defaultCachePolicy(null), { attention: 'fused', kvRows: 'padded' as never })).rejects.toThrow(/kvRows: got "padded"/);
  });

  it("'auto' reserves where the session can and keeps exact rows elsewhere", async () => {
    const model = tinyModel('tiny-llama3-gqa', 1, { headDim: 16 });
    const tokens = randomTokens(20, model.config.vocabSize, 2);
    const perChannel = k4v2Policy({ quant: { key: quantizerConfig({ bits: 4, axis: 'per-channel', groupSize: 8 }), value: quantizerConfig({ bits: 2, groupSize: 8 }) } });
    const cases = [
      { attention: 'fused' as const, policy: defaultCachePolicy(null), reserves: true },
      { attention: 'fused' as const, policy: k4v2Policy(), reserves: true },
      { attention: 'plain' as const, policy: k4v2Policy(), reserves: false },
      { attention: 'fused' as const, policy: k4v2Policy({ mode: 'simulated' }), reserves: false },
      { attention: 'fused' as const, policy: perChannel, reserves: false },
    ];
    for (const c of cases) {
      const session = await createOnnxSession(model, c.policy, { attention: c.attention, kvRows: 'auto', maxContext: 512 });
      try {
        await session.prefill(tokens);
        const { heldBytes, reservedBytes } = session.memory();
        const label = `${c.attention} ${c.policy.mode} ${c.policy.quant?.key.axis ?? 'fp'}`;
        expect(reservedBytes! > heldBytes, label).toBe(c.reserves);
        expect(session.kvRows, label).toBe(c.reserves ? 'reserve' : 'exact');
      } finally {
        await session.dispose();
      }
    }
  });
});

describe("kvRows 'reserve' with a packed cache (fused attention on the CPU)", () => {
  // Residual 8 and quantum 8: decode steps flush every 8 tokens into the history's spare rows; 300 tokens
  // outgrow the first history rows, and the prefill chunks of 64 make the residual outgrow its first rows.
  // The quantizing reference is checked on the Llama family only: over 150 flushed tokens a last-bit
  // difference can move a value across a 2-bit code boundary (the engine's exact rows show the same).
  for (const family of ['tiny-llama3-gqa', 'tiny-qwen3-qknorm'] as const) {
    it(`${family} K4V2: the same logits as exact rows${family === 'tiny-llama3-gqa' ? ' and as the quantizing reference' : ''}, the same bytes held`, async () => {
      const model = tinyModel(family, 2, { headDim: 16 });
      const policy = k4v2Policy();
      const tokens = randomTokens(300, model.config.vocabSize, 9);
      const prompt = 150;
      const options = { attention: 'fused' as const, prefillChunk: 64, maxContext: 1024 };
      const reserved = await createOnnxSession(model, policy, { ...options, kvRows: 'reserve' });
      const exact = await createOnnxSession(model, policy, options);
      const reference = new QuantizedReference(model.config, model.weights, policy, 320);
      try {
        const first = await reserved.prefill(tokens.slice(0, prompt));
        let agreement = relativeError(first, await exact.prefill(tokens.slice(0, prompt)));
        let worst = relativeError(first, reference.prefill(tokens.slice(0, prompt)));
        for (let i = prompt; i < tokens.length; i++) {
          const got = await reserved.step(tokens[i]);
          agreement = Math.max(agreement, relativeError(got, await exact.step(tokens[i])));
          worst = Math.max(worst, relativeError(got, reference.step(tokens[i])));
        }
        expect(agreement).toBeLessThan(1e-6);
        if (family === 'tiny-llama3-gqa') expect(worst).toBeLessThan(1e-4);
        expect(reserved.cacheLayout()).toEqual(exact.cacheLayout());
        const [r, e] = [reserved.memory(), exact.memory()];
        expect(r.heldBytes).toBeCloseTo(e.heldBytes, 6);
        expect(r.quantizedBytesPerToken).toBeCloseTo(e.quantizedBytesPerToken, 9);
        expect(r.reservedBytes).toBeGreaterThan(r.heldBytes);
      } finally {
        await reserved.dispose();
        await exact.dispose();
      }
    });
  }

  it('a long prompt in one prefill: the residual gives back the rows it grew for, so the history holds no more than it needs', async () => {
    const model = tinyModel('tiny-llama3-gqa', 2, { headDim: 16 });
    const policy = k4v2Policy();
    const tokens = randomTokens(730, model.config.vocabSize, 17);
    const prompt = 700;
    const options = { attention: 'fused' as const, prefillChunk: 64, maxContext: 1024 };
    const reserved = await createOnnxSession(model, policy, { ...options, kvRows: 'reserve' });
    const exact = await createOnnxSession(model, policy, options);
    // Diagnostics only: the rows of the first layer's key slot.
    const rows = () => {
      const slot = (reserved as unknown as { slots: { residual: { dims: number[] }; history: { dims: number[] }[] }[][] }).slots[0][0];
      return { residual: slot.residual.dims[2], history: slot.history[0].dims[2] };
    };
    try {
      let agreement = relativeError(await reserved.prefill(tokens.slice(0, prompt)), await exact.prefill(tokens.slice(0, prompt)));
      expect(rows().residual).toBe(reservedRows(prompt, 1024)); // the prompt went through the residual
      for (let i = prompt; i < tokens.length; i++) agreement = Math.max(agreement, relativeError(await reserved.step(tokens[i]), await exact.step(tokens[i])));
      expect(agreement).toBeLessThan(1e-5);
      // About 720 flushed tokens + a 256-row residual: 1280 history rows (with the prompt's 768 residual rows kept, 1792).
      expect(rows()).toEqual({ residual: 256, history: 1280 });
      expect(reserved.cacheLayout()).toEqual(exact.cacheLayout());
    } finally {
      await reserved.dispose();
      await exact.dispose();
    }
  });

  it('runs prompts of any length through a bounded set of decoder and flush shapes', async () => {
    // A size-exact device buffer cache keeps every size it meets: with reserved rows the prefill runs
    // whole chunks and powers of two, and flushes powers of two of the quantum, however long the prompt.
    const model = tinyModel('tiny-llama3-gqa', 2, { headDim: 16 });
    const policy = k4v2Policy();
    const session = await createOnnxSession(model, policy, { attention: 'fused', prefillChunk: 64, maxContext: 1024, kvRows: 'reserve' });
    // Diagnostics only: the decoder's and the key store's calls, seen from outside the session.
    const inner = session as unknown as { decoder: { run: (feeds: Record<string, { dims: readonly number[] }>) => Promise<unknown> }; stores: { key: { quantum: number; flush: (l: number, s: unknown, n: number) => Promise<unknown> } } };
    const runLengths = new Set<number>();
    const flushSizes = new Set<number>();
    const run = inner.decoder.run.bind(inner.decoder);
    inner.decoder.run = (feeds) => (runLengths.add(feeds.input_ids.dims[0]), run(feeds));
    const flush = inner.stores.key.flush.bind(inner.stores.key);
    inner.stores.key.flush = (l, s, n) => (flushSizes.add(n), flush(l, s, n));
    try {
      const exact = await createOnnxSession(model, policy, { attention: 'fused', prefillChunk: 64, maxContext: 1024 });
      try {
        for (const length of [150, 77, 201, 33, 119, 250, 91, 190]) {
          const tokens = randomTokens(length + 3, model.config.vocabSize, length);
          let agreement = relativeError(await session.prefill(tokens.slice(0, length)), await exact.prefill(tokens.slice(0, length)));
          for (const t of tokens.slice(length)) agreement = Math.max(agreement, relativeError(await session.step(t), await exact.step(t)));
          // float32 sums in another order (the prompt runs in other lengths): 1.1e-6 seen under a loaded CPU.
          expect(agreement).toBeLessThan(1e-5);
        }
      } finally {
        await exact.dispose();
      }
      expect([...runLengths].every((n) => n === 64 || Number.isInteger(Math.log2(n)))).toBe(true);
      const quantum = inner.stores.key.quantum;
      expect(flushSizes.size).toBeGreaterThan(1);
      expect([...flushSizes].every((n) => Number.isInteger(Math.log2(n / quantum)))).toBe(true);
      expect(runLengths.size).toBeLessThanOrEqual(7); // 64, 32, 16, 8, 4, 2, 1
    } finally {
      await session.dispose();
    }
  });

  // The history's spare rows are zero parts, and the decoder adds the residual over them: that needs
  // zero parts to decode to zero, which rotated and TurboQuant codecs must honour as well.
  const CODECS: { name: string; policy: CachePolicy }[] = [
    { name: 'Hadamard-rotated K2V2', policy: k4v2Policy({ quant: { key: quantizerConfig({ bits: 2, groupSize: 8 }), value: quantizerConfig({ bits: 2, groupSize: 8 }) }, rotation: { kind: 'hadamard', seed: 1 } }) },
    { name: 'TurboQuant KQV 3 bits', policy: k4v2Policy({ turbo: { scheme: 'KQV', seed: 3 } }) },
  ];
  for (const c of CODECS) {
    it(`${c.name}: the same logits as exact rows`, async () => {
      const model = tinyModel('tiny-llama3-gqa', 4, { headDim: 16 });
      const tokens = randomTokens(120, model.config.vocabSize, 3);
      const options = { attention: 'fused' as const, prefillChunk: 16, maxContext: 512 };
      const reserved = await createOnnxSession(model, c.policy, { ...options, kvRows: 'reserve' });
      const exact = await createOnnxSession(model, c.policy, options);
      try {
        let agreement = relativeError(await reserved.prefill(tokens.slice(0, 40)), await exact.prefill(tokens.slice(0, 40)));
        for (let i = 40; i < tokens.length; i++) agreement = Math.max(agreement, relativeError(await reserved.step(tokens[i]), await exact.step(tokens[i])));
        expect(reserved.cacheLayout()[0][0].historyTokens).toBeGreaterThan(40);
        expect(agreement).toBeLessThan(1e-6);
      } finally {
        await reserved.dispose();
        await exact.dispose();
      }
    });
  }
});
