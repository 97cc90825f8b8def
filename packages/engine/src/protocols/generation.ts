// Greedy decoding through a DecoderSession, stopping at EOS, at a stop string, at maxNewTokens, or at
// the model's context.
import { argmax } from '../metrics/log-softmax';
import type { DecoderSession } from '../session';
import type { TextTokenizer } from '../tokenizer/types';

export interface Generation {
  text: string;
  tokens: number[];
  /** Why decoding ended. */
  stop: 'eos' | 'stop-string' | 'max-new-tokens' | 'context';
}

export async function greedyDecode(
  session: DecoderSession,
  tokenizer: TextTokenizer,
  prompt: number[],
  maxNewTokens: number,
  stopStrings: readonly string[],
  maxPositions: number,
): Promise<Generation> {
  session.reset();
  let logits = await session.prefill(prompt);
  const tokens: number[] = [];
  for (;;) {
    const next = argmax(logits);
    if (next === tokenizer.eosId) return { text: tokenizer.decode(tokens), tokens, stop: 'eos' };
    tokens.push(next);
    const text = tokenizer.decode(tokens);
    const cut = firstStop(text, stopStrings);
    if (cut >= 0) return { text: text.slice(0, cut), tokens, stop: 'stop-string' };
    if (tokens.length >= maxNewTokens) return { text, tokens, stop: 'max-new-tokens' };
    if (prompt.length + tokens.length >= maxPositions) return { text, tokens, stop: 'context' };
    logits = await session.step(next);
  }
}

function firstStop(text: string, stops: readonly string[]): number {
  let cut = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}
