// Plain texts of any data set, for the analyses that need a sample of real tokens (budget sensitivities
// from the cache, attention metrics): documents as they are, and the prompts of generation and
// multiple-choice items (question, or context + the right continuation).
import type { Dataset } from './types';

export function sampleTexts(data: Dataset, limit: number): string[] {
  switch (data.kind) {
    case 'text':
      return data.documents.slice(0, limit);
    case 'generation':
      return data.items.slice(0, limit).map((i) => `${i.question}\n${i.answer}`);
    case 'multiple-choice':
      return data.items.slice(0, limit).map((i) => i.context + i.continuations[i.answer]);
  }
}

/** Token sequences: BOS + text, cut to maxTokens, the first `limit` with at least 2 tokens. */
export function sampleTokenDocuments(texts: readonly string[], encode: (text: string) => number[], limit: number, maxTokens: number): number[][] {
  const docs: number[][] = [];
  for (let i = 0; i < texts.length && docs.length < limit; i++) {
    const tokens = encode(texts[i]).slice(0, maxTokens);
    if (tokens.length >= 2) docs.push(tokens);
  }
  return docs;
}
