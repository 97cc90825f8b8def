// mc-decode (benchmarks.md): the context is prefilled into the cache once; each choice's continuation is
// then scored token by token through the cache from a snapshot of that state, so its tokens attend to
// the stored (quantized) context. acc = argmax of summed log-likelihood, acc_norm = argmax of
// log-likelihood / characters of the choice, as lm-evaluation-harness. Tokenization as lm-eval's
// _encode_pair: continuation tokens = encode(context + continuation) minus the context's tokens.
import { argmax, logSoftmax } from '../metrics/log-softmax';
import { klDivergence } from '../metrics/divergence';
import { binomialStderr } from '../metrics/stderr';
import type { EvalSample } from '../evaluation';
import type { KvMemory } from '../session';
import type { TextTokenizer } from '../tokenizer/types';
import type { MultipleChoiceItem } from '../data/types';
import type { ProtocolContext, ProtocolOutput } from './types';

export interface EncodedChoice {
  context: number[];
  continuations: number[][];
}

export function encodeChoices(tokenizer: TextTokenizer, item: MultipleChoiceItem): EncodedChoice {
  // lm-eval moves trailing spaces of the context onto the continuation.
  const trailing = /\s*$/.exec(item.context)![0];
  const contextText = item.context.slice(0, item.context.length - trailing.length);
  const context = tokenizer.encode(contextText, { bos: true });
  const continuations = item.continuations.map((c) => {
    const whole = tokenizer.encode(contextText + trailing + c, { bos: true });
    const tail = whole.slice(context.length);
    return tail.length > 0 ? tail : tokenizer.encode(trailing + c);
  });
  return { context, continuations };
}

export async function runMcDecode(ctx: ProtocolContext): Promise<ProtocolOutput> {
  const { options, dataset, tokenizer, quantized, fullPrecision } = ctx;
  if (dataset.kind !== 'multiple-choice') throw new Error(`protocol: mc-decode needs a multiple-choice data set, got ${dataset.kind} items`);
  const items = dataset.items.slice(0, options.limit);
  if (items.length === 0) throw new Error('limit: no items to evaluate');
  const progress = ctx.progress(items.length);
  const samples: EvalSample[] = [];
  let acc = 0;
  let accNorm = 0;
  let accFp = 0;
  let kl = 0;
  let agree = 0;
  let scored = 0;
  let memory: KvMemory | null = null;
  const lpF = new Float64Array(quantized.vocabSize);
  const lpQ = new Float64Array(quantized.vocabSize);

  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const enc = encodeChoices(tokenizer, item);
    if (enc.context.length === 0) throw new Error(`data: item ${i} has an empty context and the tokenizer has no BOS to start from`);
    const longest = enc.context.length + Math.max(...enc.continuations.map((c) => c.length));
    if (longest > ctx.maxPositions) throw new Error(`data: item ${i} needs ${longest} tokens, the model's context is ${ctx.maxPositions}`);
    fullPrecision.reset();
    quantized.reset();
    const f0 = await fullPrecision.prefill(enc.context);
    const q0 = await quantized.prefill(enc.context);
    const fSnap = fullPrecision.snapshot();
    const qSnap = quantized.snapshot();
    const llQ: number[] = [];
    const llF: number[] = [];
    for (const cont of enc.continuations) {
      fullPrecision.restore(fSnap);
      quantized.restore(qSnap);
      let lf: Float32Array = f0;
      let lq: Float32Array = q0;
      let sumQ = 0;
      let sumF = 0;
      for (let j = 0; j < cont.length; j++) {
        if (j > 0) {
          lf = await fullPrecision.step(cont[j - 1]);
          lq = await quantized.step(cont[j - 1]);
        }
        logSoftmax(lf, lpF);
        logSoftmax(lq, lpQ);
        sumQ += lpQ[cont[j]];
        sumF += lpF[cont[j]];
        kl += klDivergence(lpF, lpQ);
        if (argmax(lf) === argmax(lq)) agree++;
        scored++;
      }
      const m = quantized.memory();
      if (m.quantizedBytesPerToken > 0) memory = m;
      llQ.push(sumQ);
      llF.push(sumF);
    }
    const pick = argmax(llQ);
    const pickNorm = argmax(llQ.map((ll, c) => ll / Math.max(1, item.choices[c].length)));
    if (pick === item.answer) acc++;
    if (pickNorm === item.answer) accNorm++;
    if (argmax(llF) === item.answer) accFp++;
    samples.push({
      index: i,
      prompt: item.context,
      output: item.choices[pick],
      reference: item.choices[item.answer],
      correct: pick === item.answer,
      nll: -llQ[pick],
    });
    progress.addTokens(enc.context.length + enc.continuations.reduce((s, c) => s + c.length, 0));
    progress.itemDone();
  }
  const n = items.length;
  return {
    metrics: {
      accuracy: acc / n,
      accuracyStderr: binomialStderr(acc, n),
      accuracyNorm: accNorm / n,
      accuracyNormStderr: binomialStderr(accNorm, n),
      accuracyFp: accFp / n,
      kl: kl / scored,
      top1: agree / scored,
      scoredTokens: scored,
    },
    samples,
    items: n,
    record: { limit: options.limit, bos: true, normalisation: 'characters of the choice (lm-eval acc_norm)', continuationDelimiter: 'per format' },
    memory,
  };
}
