// The three protocols on stories260K with the reference sessions: selection rules, pairing, and that
// the numbers equal direct float64 computations (teacher forcing through ReferenceModel).
import { beforeAll, describe, expect, it } from 'vitest';
import type { CachePolicy, EvalOptions } from '../src/evaluation';
import { loadDataset } from '../src/data';
import type { Dataset } from '../src/data';
import { loadModel } from '../src/model/load';
import { loadTokenizer } from '../src/tokenizer/load';
import type { LoadedModel } from '../src/model';
import type { TextTokenizer } from '../src/tokenizer';
import { ReferenceModel, sequenceNll } from '../src/reference';
import { encodeChoices, ProgressTracker, ReferenceDecoderSession, runGenExact, runMcDecode, runPplDecode, selectPplDocuments } from '../src/protocols';
import type { ProtocolContext } from '../src/protocols';

const fp: CachePolicy = { quant: null, residualLength: 32, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };
const k2v2: CachePolicy = {
  ...fp,
  quant: {
    key: { bits: 2, backend: 'quanto', axis: 'per-token', groupSize: 8, metaDtype: 'fp16', hqqMode: 'faithful' },
    value: { bits: 2, backend: 'quanto', axis: 'per-token', groupSize: 8, metaDtype: 'fp16', hqqMode: 'faithful' },
  },
};

let model: LoadedModel;
let tokenizer: TextTokenizer;
beforeAll(async () => {
  model = await loadModel('stories260k');
  tokenizer = await loadTokenizer('stories260k');
});

function context(options: Partial<EvalOptions>, dataset: Dataset, policy: CachePolicy, progress: number[] = []): ProtocolContext {
  const full: EvalOptions = { model: 'stories260k', data: 'x', protocol: 'ppl-decode', prompt: 16, maxTokens: 40, limit: 3, cache: policy, provider: 'cpu', ...options };
  return {
    quantized: new ReferenceDecoderSession(model, policy),
    fullPrecision: new ReferenceDecoderSession(model, fp),
    tokenizer,
    maxPositions: model.config.maxPositions,
    options: full,
    dataset,
    progress: (total) => new ProgressTracker(total, (p) => progress.push(p.itemsDone), 0),
  };
}

describe('ppl-decode', () => {
  it('keeps documents with at least prompt + 2 tokens, in file order, limit counting kept ones', () => {
    const docs = ['a', 'Once upon a time there was a cat.', 'Hi', 'The sun was hot and the dog was happy all day long.'];
    const enc = (t: string) => tokenizer.encode(t, { bos: true });
    const kept = selectPplDocuments(docs, enc, 6, 12, 5);
    expect(kept.map((d) => d.index)).toEqual([1, 3]);
    expect(kept.every((d) => d.tokens.length <= 12 && d.tokens[0] === tokenizer.bosId)).toBe(true);
    expect(selectPplDocuments(docs, enc, 6, 12, 1).map((d) => d.index)).toEqual([1]);
  });

  it('full precision: perplexity equals teacher-forced float64 NLL of the tokens after the prefill; KL 0, top-1 1', async () => {
    const dataset = loadDataset('tinystories').data;
    const progress: number[] = [];
    const out = await runPplDecode(context({ prompt: 16, maxTokens: 40, limit: 3 }, dataset, fp, progress));
    if (dataset.kind !== 'text') throw new Error('text');
    const docs = selectPplDocuments(dataset.documents, (t) => tokenizer.encode(t, { bos: true }), 16, 40, 3);
    const ref = new ReferenceModel(model.config, model.weights);
    let total = 0;
    let n = 0;
    for (const d of docs) {
      const nll = sequenceNll(ref, d.tokens).slice(15); // predictions of tokens 16.. (0-based)
      total += nll.reduce((a, b) => a + b, 0);
      n += nll.length;
    }
    expect(out.metrics.scoredTokens).toBe(n);
    expect(out.metrics.perplexity!).toBeCloseTo(Math.exp(total / n), 5);
    expect(out.metrics.kl).toBe(0);
    expect(out.metrics.top1).toBe(1);
    expect(out.metrics.nllDelta).toBe(0);
    expect(progress).toEqual([1, 2, 3]);
    expect(out.samples).toHaveLength(3);
  });

  it('K2V2: the first scored token of each document (from the exact prefill) is identical, later ones differ', async () => {
    const dataset: Dataset = { kind: 'text', documents: ['Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.'] };
    const exactFirst = await runPplDecode(context({ prompt: 16, maxTokens: 18, limit: 1 }, dataset, k2v2));
    expect(exactFirst.metrics.scoredTokens).toBe(2);
    const out = await runPplDecode(context({ prompt: 16, maxTokens: 60, limit: 1 }, dataset, k2v2));
    expect(out.metrics.kl!).toBeGreaterThan(0.01);
    expect(out.memory!.quantizedBytesPerToken).toBe(240);
  });

  it('rejects a maxTokens beyond the context and a non-text data set, naming the field', async () => {
    const dataset = loadDataset('tinystories').data;
    await expect(runPplDecode(context({ maxTokens: 4096 }, dataset, fp))).rejects.toThrow(/maxTokens: got 4096, the model's context is 512/);
    await expect(runPplDecode(context({}, loadDataset('gsm8k').data, fp))).rejects.toThrow(/ppl-decode needs a text data set/);
  });
});

describe('gen-exact', () => {
  it('runs k-shot greedy decoding, records the few-shot items and regex, and agrees with itself at full precision', async () => {
    const items = [
      { question: 'Tom has 2 cats.', answer: 'He has 2.\n#### 2', finalAnswer: '2' },
      { question: 'Sue has 3 dogs.', answer: '#### 3', finalAnswer: '3' },
      { question: 'Lily has 4 toys.', answer: '#### 4', finalAnswer: '4' },
    ];
    const out = await runGenExact(context({ protocol: 'gen-exact', fewShot: 1, maxTokens: 12, limit: 2 }, { kind: 'generation', items }, fp));
    expect(out.items).toBe(2);
    expect(out.record.fewShotItems).toEqual([0]);
    expect(out.record.firstItem).toBe(1);
    expect(out.record.answerExtraction).toBeDefined();
    expect(out.metrics.agreement).toBe(1);
    expect(out.metrics.accuracy).toBe(out.metrics.accuracyFp);
    expect(out.samples.map((s) => s.index)).toEqual([1, 2]);
    expect(out.samples[0].reference).toBe('3');
    expect(out.samples[0].prompt).toBe('Question: Sue has 3 dogs.\nAnswer:');
    expect(typeof out.samples[0].output).toBe('string');
  });

  it('says when the few-shot prompt does not fit the context', async () => {
    await expect(runGenExact(context({ protocol: 'gen-exact', fewShot: 8, maxTokens: 8, limit: 1 }, loadDataset('gsm8k').data, fp))).rejects.toThrow(/fewShot: the 8-shot prompt/);
  });
});

describe('mc-decode', () => {
  it('continuation log-likelihoods through the cache equal teacher-forced float64 ones at full precision', async () => {
    const dataset = loadDataset('hellaswag').data;
    if (dataset.kind !== 'multiple-choice') throw new Error('mc');
    const out = await runMcDecode(context({ protocol: 'mc-decode', limit: 1 }, dataset, fp));
    expect(out.metrics.kl).toBe(0);
    expect(out.metrics.top1).toBe(1);
    expect(out.metrics.accuracy).toBe(out.metrics.accuracyFp);
    const ref = new ReferenceModel(model.config, model.weights);
    for (let i = 0; i < 1; i++) {
      const item = dataset.items[i];
      const enc = encodeChoices(tokenizer, item);
      const ll = enc.continuations.map((c) => -sequenceNll(ref, [...enc.context, ...c]).slice(enc.context.length - 1).reduce((a, b) => a + b, 0));
      const best = ll.indexOf(Math.max(...ll));
      expect(out.samples[i].output).toBe(item.choices[best]);
      expect(out.samples[i].nll!).toBeCloseTo(-ll[best], 4);
    }
  });

  it('continuation tokens follow lm-eval: encode(context + continuation) minus the context', () => {
    const enc = encodeChoices(tokenizer, { context: 'The cat sat', choices: ['on the mat'], continuations: [' on the mat'], answer: 0 });
    expect([...enc.context, ...enc.continuations[0]]).toEqual(tokenizer.encode('The cat sat on the mat', { bos: true }));
  });

  it('K2V2 changes the continuation scores (KL > 0)', async () => {
    const out = await runMcDecode(context({ protocol: 'mc-decode', limit: 2 }, loadDataset('arc-easy').data, k2v2));
    expect(out.metrics.kl!).toBeGreaterThan(0);
    expect(out.metrics.accuracyNorm).toBeDefined();
    expect(out.items).toBe(2);
  });
});
