// Whole-sequence helpers over ReferenceModel: greedy generation and token negative log-likelihood.
import type { ReferenceModel } from './forward';

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** -log softmax(logits)[target], computed stably in float64. */
export function negativeLogLikelihood(logits: ArrayLike<number>, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.log(sum) + max - logits[target];
}

/** Feeds `prompt` from position 0, then appends `steps` argmax tokens; returns prompt + generated ids. */
export function greedyGenerate(model: ReferenceModel, prompt: number[], steps: number, stopIds: number[] = []): number[] {
  if (prompt.length === 0) throw new Error('greedyGenerate: prompt must hold at least one token (e.g. BOS)');
  const tokens = [...prompt];
  let logits!: Float64Array;
  for (let pos = 0; pos < prompt.length; pos++) logits = model.forward(prompt[pos], pos);
  for (let s = 0; s < steps; s++) {
    const next = argmax(logits);
    tokens.push(next);
    if (stopIds.includes(next)) break;
    if (s + 1 < steps) logits = model.forward(next, tokens.length - 1);
  }
  return tokens;
}

/** Per-token NLL of tokens[1..] given their prefixes (teacher forcing from position 0). */
export function sequenceNll(model: ReferenceModel, tokens: number[]): number[] {
  const nll: number[] = [];
  for (let pos = 0; pos + 1 < tokens.length; pos++) {
    nll.push(negativeLogLikelihood(model.forward(tokens[pos], pos), tokens[pos + 1]));
  }
  return nll;
}
