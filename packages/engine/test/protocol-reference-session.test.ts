// The reference DecoderSession: the cache-policy state machine (prefill policies, residual flushes,
// append vs requantize, per-channel units), snapshot/restore, and exact memory accounting.
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeQuantize, type QuantizerConfig } from '@kvbench/quant';
import type { CachePolicy } from '../src/evaluation';
import { loadModel } from '../src/model/load';
import { loadTokenizer } from '../src/tokenizer/load';
import type { LoadedModel } from '../src/model';
import { GroupedCodec } from '../src/codec';
import { KvCacheStream, ReferenceDecoderSession, tokenUnit } from '../src/protocols';
import { argmax } from '../src/metrics';

const cfg = (bits: number, axis: QuantizerConfig['axis'] = 'per-token', groupSize = 4): QuantizerConfig => ({
  bits,
  backend: 'quanto',
  axis,
  groupSize,
  metaDtype: 'fp16',
  hqqMode: 'faithful',
});
const policy = (over: Partial<CachePolicy> = {}): CachePolicy => ({
  quant: { key: cfg(4), value: cfg(2) },
  residualLength: 4,
  prefill: 'quantize-all',
  residualMode: 'append',
  mode: 'packed',
  ...over,
});

const H = 2;
const D = 4;
const KV = H * D;
function randomRows(rows: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: rows * KV }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 4 - 2);
}

/** Fake-quantizes rows [a, b) of [seq, H, D] as one [1, H, b-a, D] tensor, returned as [seq, H, D] rows. */
function fakeRows(x: Float64Array, a: number, b: number, c: QuantizerConfig): Float64Array {
  const n = b - a;
  const t = new Float32Array(H * n * D);
  for (let s = 0; s < n; s++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) t[(h * n + s) * D + d] = x[(a + s) * KV + h * D + d];
  const y = fakeQuantize(t, [1, H, n, D], c);
  const out = new Float64Array(n * KV);
  for (let s = 0; s < n; s++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) out[s * KV + h * D + d] = y[(h * n + s) * D + d];
  return out;
}

describe('KvCacheStream (cache policy state machine)', () => {
  it('token units: 1 for per-token groups, G for per-channel blocks', () => {
    expect(tokenUnit(cfg(4, 'per-token', 4), H, D)).toBe(1);
    expect(tokenUnit(cfg(4, 'per-token', 8), H, D)).toBe(2);
    expect(tokenUnit(cfg(4, 'per-channel', 32), H, D)).toBe(32);
  });

  it('quantize-all prefill, then a flush each time the residual reaches residualLength (append)', () => {
    const exact = randomRows(32, 1);
    const s = new KvCacheStream(new GroupedCodec(cfg(4), null, H, D, 'key'), policy(), H, D, 32, 'key');
    s.afterPrefill(exact, 6);
    expect(s.quantizedTokens).toBe(6);
    const seen: number[] = [];
    for (let t = 7; t <= 16; t++) {
      s.afterStep(exact, t);
      seen.push(s.quantizedTokens);
    }
    expect(seen).toEqual([6, 6, 6, 10, 10, 10, 10, 14, 14, 14]);
    // What attention reads: the prefill block and each flushed block fake-quantized on their own, then exact rows.
    const view = s.read(exact, 16);
    const want = [...fakeRows(exact, 0, 6, cfg(4)), ...fakeRows(exact, 6, 10, cfg(4)), ...fakeRows(exact, 10, 14, cfg(4)), ...exact.subarray(14 * KV, 16 * KV)];
    expect(Array.from(view.subarray(0, 16 * KV))).toEqual(want);
  });

  it('keep-residual keeps the last min(P, R) prefill tokens in full precision', () => {
    const exact = randomRows(16, 2);
    const s = new KvCacheStream(new GroupedCodec(cfg(4), null, H, D, 'key'), policy({ prefill: 'keep-residual' }), H, D, 16, 'key');
    s.afterPrefill(exact, 6);
    expect(s.quantizedTokens).toBe(2);
    const short = new KvCacheStream(new GroupedCodec(cfg(4), null, H, D, 'key'), policy({ prefill: 'keep-residual' }), H, D, 16, 'key');
    short.afterPrefill(exact, 3);
    expect(short.quantizedTokens).toBe(0);
  });

  it('requantize re-quantizes dequant(Q) ++ R as one tensor', () => {
    const exact = randomRows(16, 3);
    const s = new KvCacheStream(new GroupedCodec(cfg(2), null, H, D, 'key'), policy({ residualMode: 'requantize' }), H, D, 16, 'key');
    s.afterPrefill(exact, 4);
    const first = s.read(exact, 4).slice(0, 4 * KV);
    for (let t = 5; t <= 8; t++) s.afterStep(exact, t);
    expect(s.quantizedTokens).toBe(8);
    const joined = new Float64Array(8 * KV);
    joined.set(first);
    joined.set(exact.subarray(4 * KV, 8 * KV), 4 * KV);
    expect(Array.from(s.read(exact, 8).subarray(0, 8 * KV))).toEqual(Array.from(fakeRows(joined, 0, 8, cfg(2))));
  });

  it('per-channel blocks: tokens that do not fill a block stay in the residual; residual 0 flushes whole blocks', () => {
    const exact = randomRows(40, 4);
    const pc = cfg(2, 'per-channel', 8);
    const s = new KvCacheStream(new GroupedCodec(pc, null, H, D, 'key'), policy({ residualLength: 0 }), H, D, 40, 'key');
    s.afterPrefill(exact, 13);
    expect(s.quantizedTokens).toBe(8);
    const seen: number[] = [];
    for (let t = 14; t <= 24; t++) {
      s.afterStep(exact, t);
      seen.push(s.quantizedTokens);
    }
    expect(seen).toEqual([8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 24]);
  });
});

describe('ReferenceDecoderSession on stories260K', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel('stories260k');
  });

  it('full precision greedy decoding from BOS tells the Lily story', async () => {
    const tokenizer = await loadTokenizer('stories260k');
    const session = new ReferenceDecoderSession(model, policy({ quant: null }));
    let logits = await session.prefill([tokenizer.bosId!]);
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      out.push(argmax(logits));
      logits = await session.step(out[out.length - 1]);
    }
    expect(tokenizer.decode([tokenizer.bosId!, ...out])).toMatch(/^Once upon a time, there was a little girl named Lily\./);
  });

  it('snapshot / restore replays identical logits; memory is exact from the packed buffers', async () => {
    const tokenizer = await loadTokenizer('stories260k');
    const perToken8 = { key: { ...cfg(4), groupSize: 8 }, value: { ...cfg(2), groupSize: 8 } };
    const session = new ReferenceDecoderSession(model, policy({ quant: perToken8, residualLength: 32 }));
    const tokens = tokenizer.encode('Once upon a time, there was a big dog. The dog liked to run in the park with the ball.', { bos: true });
    await session.prefill(tokens.slice(0, 10));
    const snap = session.snapshot();
    const first: Float32Array[] = [];
    for (const t of tokens.slice(10, 20)) first.push(await session.step(t));
    session.restore(snap);
    for (let i = 0; i < 10; i++) expect(Array.from(await session.step(tokens[10 + i]))).toEqual(Array.from(first[i]));
    const m = session.memory();
    // K4: 4 bits + 2 fp16 per 8 elements = 8 bits; V2: 6 bits; 5 layers x 4 heads x 8 dims.
    expect(m.quantizedBytesPerToken).toBe(280);
    expect(m.fp16BytesPerToken).toBe(640);
    expect(m.tokens).toBe(20);
    expect(m.heldBytes).toBe(10 * 280 + 10 * 2 * 5 * 32 * 4); // 10 quantized + 10 fp32 residual tokens
    expect(session.nonFinite()).toBe(0);
  });
});
