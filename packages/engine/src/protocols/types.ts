// What every protocol gets and gives back.
import type { EvalMetrics, EvalOptions, EvalSample } from '../evaluation';
import type { TextTokenizer } from '../tokenizer/types';
import type { DecoderSession, KvMemory } from '../session';
import type { Dataset } from '../data/types';
import type { ProgressTracker } from './progress';

export interface ProtocolContext {
  /** The session under test (quantized cache). */
  quantized: DecoderSession;
  /** The same model with a full-precision cache, fed identical inputs, for the paired metrics. */
  fullPrecision: DecoderSession;
  tokenizer: TextTokenizer;
  /** Longest sequence the model (and sessions) accept. */
  maxPositions: number;
  options: EvalOptions;
  dataset: Dataset;
  /** Created by the protocol once it knows how many items it will run. */
  progress: (itemsTotal: number) => ProgressTracker;
}

export interface ProtocolOutput {
  metrics: EvalMetrics;
  samples: EvalSample[];
  items: number;
  /** Protocol parameters and choices to record with the result (few-shot items, regex, stop strings...). */
  record: Record<string, unknown>;
  /** The quantized cache's memory at its fullest point with a quantized part (for bytes per token). */
  memory: KvMemory | null;
}
