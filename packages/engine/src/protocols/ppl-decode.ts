// ppl-decode (benchmarks.md): perplexity through the cache. Documents are tokenized with BOS and cut to
// maxTokens; documents shorter than prompt + 2 are skipped; limit counts the documents kept. The first
// `prompt` tokens are prefilled (exact attention), then every later token is fed one at a time; every
// token after the prefill is scored, the first one from the prefill's last logits. Both sessions get
// identical inputs, so KL, top-1 agreement and the NLL delta are paired per position.
import { PairedScore } from '../metrics/paired-score';
import type { EvalSample } from '../evaluation';
import type { KvMemory } from '../session';
import type { ProtocolContext, ProtocolOutput } from './types';

export interface PplDocument {
  /** Index of the document in the file's document list. */
  index: number;
  tokens: number[];
}

/** The documents ppl-decode scores, in file order. */
export function selectPplDocuments(documents: string[], encode: (text: string) => number[], prompt: number, maxTokens: number, limit: number): PplDocument[] {
  const kept: PplDocument[] = [];
  for (let i = 0; i < documents.length && kept.length < limit; i++) {
    const tokens = encode(documents[i]).slice(0, maxTokens);
    if (tokens.length >= prompt + 2) kept.push({ index: i, tokens });
  }
  return kept;
}

export async function runPplDecode(ctx: ProtocolContext): Promise<ProtocolOutput> {
  const { options, dataset, tokenizer, quantized, fullPrecision } = ctx;
  if (dataset.kind !== 'text') throw new Error(`protocol: ppl-decode needs a text data set, got ${dataset.kind} items`);
  const { prompt, maxTokens, limit } = options;
  if (!Number.isInteger(prompt) || prompt < 1) throw new Error(`prompt: got ${prompt}, allowed: an integer >= 1`);
  if (!Number.isInteger(maxTokens) || maxTokens < prompt + 2) throw new Error(`maxTokens: got ${maxTokens}, allowed: an integer >= prompt + 2 (${prompt + 2})`);
  if (maxTokens > ctx.maxPositions) throw new Error(`maxTokens: got ${maxTokens}, the model's context is ${ctx.maxPositions} tokens`);
  const docs = selectPplDocuments(dataset.documents, (t) => tokenizer.encode(t, { bos: true }), prompt, maxTokens, limit);
  if (docs.length === 0) throw new Error(`data: no document has at least prompt + 2 = ${prompt + 2} tokens`);

  const progress = ctx.progress(docs.length);
  const score = new PairedScore(quantized.vocabSize);
  const samples: EvalSample[] = [];
  let memory: KvMemory | null = null;
  for (const doc of docs) {
    const t = doc.tokens;
    score.beginDocument();
    const context = t.slice(0, prompt);
    fullPrecision.reset();
    quantized.reset();
    let lf = await fullPrecision.prefill(context);
    let lq = await quantized.prefill(context);
    score.add(lf, lq, t[prompt]);
    for (let pos = prompt; pos + 1 < t.length; pos++) {
      lf = await fullPrecision.step(t[pos]);
      lq = await quantized.step(t[pos]);
      score.add(lf, lq, t[pos + 1]);
    }
    const m = quantized.memory();
    if (m.quantizedBytesPerToken > 0) memory = m;
    const nll = score.documentNll[score.documentNll.length - 1];
    samples.push({ index: doc.index, prompt: tokenizer.decode(context), reference: tokenizer.decode(t.slice(prompt)), nll: nll / (t.length - prompt) });
    progress.addTokens(t.length);
    progress.itemDone();
  }
  const r = score.result();
  return {
    metrics: {
      perplexity: r.perplexity,
      perplexityFp: r.perplexityFp,
      kl: r.kl,
      top1: r.top1,
      nllDelta: r.nllDelta,
      nllDeltaStderr: r.nllDeltaStderr,
      scoredTokens: r.scoredTokens,
    },
    samples,
    items: docs.length,
    record: { prompt, maxTokens, limit, documentsKept: docs.length, bos: true },
    memory,
  };
}
