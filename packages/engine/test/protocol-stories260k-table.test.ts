// Reproduces rows of the independent stories260K reference table (../shared/spec/reference-stories260k.md)
// through ppl-decode on the float64 reference sessions. The full table (13 rows, about 4 minutes here)
// is bench/engine/reference-table.ts; its output is bench/results/stories260k-reference.md.
// The full-precision side is identical for every row, so it is computed once and replayed.
import { beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_ROWS, agrees, referenceOptions } from '../../../bench/engine/reference-table';
import { loadDataset } from '../src/data';
import type { CachePolicy } from '../src/evaluation';
import { loadModel, type LoadedModel } from '../src/model';
import { ProgressTracker, ReferenceDecoderSession, runPplDecode } from '../src/protocols';
import type { DecoderSession } from '../src/session';
import { loadTokenizer, type TextTokenizer } from '../src/tokenizer';

/** Replays logits already computed for the same token sequence; computes (replaying the state) otherwise. */
class MemoSession implements DecoderSession {
  private readonly memo = new Map<string, Float32Array>();
  private tokens: number[] = [];
  private innerTokens: number[] | null = null;
  constructor(private readonly inner: DecoderSession) {}
  get provider() { return this.inner.provider; }
  get policy() { return this.inner.policy; }
  get vocabSize() { return this.inner.vocabSize; }
  reset(): void { this.tokens = []; }
  private async compute(): Promise<Float32Array> {
    const key = this.tokens.join(',');
    const hit = this.memo.get(key);
    if (hit) return hit;
    const synced = this.innerTokens !== null && this.innerTokens.length === this.tokens.length - 1 && this.innerTokens.every((t, i) => t === this.tokens[i]);
    let logits: Float32Array;
    if (synced) logits = await this.inner.step(this.tokens[this.tokens.length - 1]);
    else {
      logits = await this.inner.prefill(this.tokens.slice(0, 1));
      for (const t of this.tokens.slice(1)) logits = await this.inner.step(t);
    }
    this.innerTokens = [...this.tokens];
    this.memo.set(key, logits);
    return logits;
  }
  async prefill(tokens: number[]): Promise<Float32Array> {
    // Prefill attention is exact and this wraps a full-precision cache, so a prefill equals stepping.
    this.tokens = [...tokens];
    const key = this.tokens.join(',');
    const hit = this.memo.get(key);
    if (hit) return hit;
    const logits = await this.inner.prefill(tokens);
    this.innerTokens = [...tokens];
    this.memo.set(key, logits);
    return logits;
  }
  async step(token: number): Promise<Float32Array> {
    this.tokens.push(token);
    return this.compute();
  }
  snapshot(): unknown { return [...this.tokens]; }
  restore(s: unknown): void { this.tokens = [...(s as number[])]; }
  memory() { return this.inner.memory(); }
  nonFinite() { return 0; }
  dispose() { return this.inner.dispose(); }
}

let model: LoadedModel;
let tokenizer: TextTokenizer;
let fullPrecision: MemoSession;
beforeAll(async () => {
  model = await loadModel('stories260k');
  tokenizer = await loadTokenizer('stories260k');
  const fp: CachePolicy = { quant: null, residualLength: 32, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
  fullPrecision = new MemoSession(new ReferenceDecoderSession(model, fp));
});

describe('stories260K reference table (reference sessions)', () => {
  // fp is checked through every row's perplexityFp. The HQQ and remaining rows are in the bench script.
  it.each(['k4v2', 'k2v4', 'k4v2-pc'])('%s', async (id) => {
    const row = REFERENCE_ROWS.find((r) => r.id === id)!;
    const options = referenceOptions(row.quant!('fp32'));
    const out = await runPplDecode({
      quantized: new ReferenceDecoderSession(model, options.cache),
      fullPrecision,
      tokenizer,
      maxPositions: model.config.maxPositions,
      options,
      dataset: loadDataset('tinystories').data,
      progress: (n) => new ProgressTracker(n, () => {}),
    });
    const m = out.metrics;
    expect(m.scoredTokens).toBe(1823);
    expect(agrees(m.perplexityFp!, 3.6143, 4)).toBe(true);
    expect(m.perplexity!).toBeCloseTo(row.expected.ppl, 3);
    expect(agrees(m.perplexity!, row.expected.ppl, 4)).toBe(true);
    expect(agrees(m.kl!, row.expected.kl, 5)).toBe(true);
    expect(m.top1!).toBeCloseTo(row.expected.top1, 4);
  });

  it('KV bytes per token are measured from the packed buffers with fp16 scale and zero', async () => {
    for (const id of ['k4v2', 'k2v4', 'k4v2-pc', 'k2v2-pc', 'k8v8']) {
      const row = REFERENCE_ROWS.find((r) => r.id === id)!;
      const session = new ReferenceDecoderSession(model, referenceOptions(row.quant!('fp16')).cache);
      await session.prefill(tokenizer.encode('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.', { bos: true }).slice(0, 32));
      expect(session.memory().quantizedBytesPerToken).toBe(row.expected.bytes);
    }
  });
});
