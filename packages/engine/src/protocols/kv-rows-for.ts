// Whether an evaluation's sessions can keep cache rows reserved ahead (kvRows 'reserve'), decided before
// anything is loaded: from the model's config and the run's cache policy. A worker uses it to send the
// runs that can to a process whose WebGPU buffer cache is size-exact (docs/deploy.md): there every
// session must reserve, since one with exact rows would add buffer sizes at every step.
import type { EvalOptions } from '../evaluation';
import { readModelConfig } from '../model';
import { defaultAttention, kvRowsBlocker, validateCachePolicy } from '../runtime';

export interface KvRowsDecision {
  rows: 'exact' | 'reserve';
  /** Why rows stay exact (null when they are reserved). */
  why: string | null;
}

export function kvRowsFor(options: EvalOptions): KvRowsDecision {
  const config = readModelConfig(options.model);
  const policy = validateCachePolicy(options.cache);
  // A bit budget is resolved per run from the weights (and a sample of the cache): its codecs are not known yet.
  if (policy.budget) return { rows: 'exact', why: 'a fixed policy (a bit budget is resolved from the weights at run time)' };
  const why = kvRowsBlocker(defaultAttention(options.provider, config), policy, config);
  return { rows: why === null ? 'reserve' : 'exact', why };
}
