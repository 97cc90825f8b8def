// gen-exact (benchmarks.md): k-shot GSM8K-style prompt, greedy decoding through each cache, answer
// extraction, exact match. The bundled GSM8K file is the test split, so the k examples are its first k
// items and the evaluated items are the `limit` items after them (recorded as fewShotItems).
import { binomialStderr } from '../metrics/stderr';
import type { EvalSample } from '../evaluation';
import type { KvMemory } from '../session';
import type { GenerationItem } from '../data/types';
import { EXTRACTION_RECORD, extractAnswer, normaliseAnswer } from './answer-extraction';
import { greedyDecode } from './generation';
import type { ProtocolContext, ProtocolOutput } from './types';

export const DEFAULT_FEW_SHOT = 5;
/** lm-eval's gsm8k stop sequences plus the blank line that separates our few-shot examples. */
export const GSM8K_STOP_STRINGS = ['Question:', '</s>', '<|im_end|>', '\n\n'] as const;

export function fewShotPrefix(shots: readonly GenerationItem[]): string {
  return shots.map((s) => `Question: ${s.question}\nAnswer: ${s.answer}\n\n`).join('');
}

export function questionPrompt(item: GenerationItem): string {
  return `Question: ${item.question}\nAnswer:`;
}

export async function runGenExact(ctx: ProtocolContext): Promise<ProtocolOutput> {
  const { options, dataset, tokenizer, quantized, fullPrecision } = ctx;
  if (dataset.kind !== 'generation') throw new Error(`protocol: gen-exact needs a gsm8k data set, got ${dataset.kind} items`);
  const k = options.fewShot ?? DEFAULT_FEW_SHOT;
  if (!Number.isInteger(k) || k < 0) throw new Error(`fewShot: got ${k}, allowed: an integer >= 0`);
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) throw new Error(`maxTokens: got ${options.maxTokens}, allowed: an integer >= 1`);
  const shots = dataset.items.slice(0, k);
  const items = dataset.items.slice(k, k + options.limit);
  if (items.length === 0) throw new Error(`limit: no items left after the ${k} few-shot examples (${dataset.items.length} items)`);
  const prefix = fewShotPrefix(shots);

  const progress = ctx.progress(items.length);
  const samples: EvalSample[] = [];
  let correct = 0;
  let correctFp = 0;
  let agree = 0;
  let stoppedAtContext = 0;
  let memory: KvMemory | null = null;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const tokens = tokenizer.encode(prefix + questionPrompt(item), { bos: true });
    if (tokens.length >= ctx.maxPositions) {
      throw new Error(`fewShot: the ${k}-shot prompt of item ${k + i} is ${tokens.length} tokens, the model's context is ${ctx.maxPositions}; lower fewShot`);
    }
    const fp = await greedyDecode(fullPrecision, tokenizer, tokens, options.maxTokens, GSM8K_STOP_STRINGS, ctx.maxPositions);
    const q = await greedyDecode(quantized, tokenizer, tokens, options.maxTokens, GSM8K_STOP_STRINGS, ctx.maxPositions);
    const m = quantized.memory();
    if (m.quantizedBytesPerToken > 0) memory = m;
    if (q.stop === 'context') stoppedAtContext++;
    const reference = normaliseAnswer(item.finalAnswer);
    const ok = extractAnswer(q.text) === reference;
    if (ok) correct++;
    if (extractAnswer(fp.text) === reference) correctFp++;
    if (q.text === fp.text) agree++;
    samples.push({ index: k + i, prompt: questionPrompt(item), output: q.text, outputFp: fp.text, reference, correct: ok });
    progress.addTokens(tokens.length + q.tokens.length);
    progress.itemDone();
  }
  const n = items.length;
  return {
    metrics: {
      accuracy: correct / n,
      accuracyStderr: binomialStderr(correct, n),
      accuracyFp: correctFp / n,
      agreement: agree / n,
    },
    samples,
    items: n,
    record: {
      fewShot: k,
      fewShotItems: shots.map((_, j) => j),
      firstItem: k,
      maxNewTokens: options.maxTokens,
      stopStrings: [...GSM8K_STOP_STRINGS],
      answerExtraction: EXTRACTION_RECORD,
      decoding: 'greedy',
      stoppedAtContext,
    },
    memory,
  };
}
