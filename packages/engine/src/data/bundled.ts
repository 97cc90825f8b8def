// The data sets bundled under packages/engine/assets/data, by the names jobs and the CLI use.
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataFormat } from '../evaluation';

export interface BundledBenchmark {
  name: string;
  /** Path relative to the bundled data folder. */
  file: string;
  format: DataFormat;
}

export const BUNDLED_BENCHMARKS: readonly BundledBenchmark[] = [
  { name: 'tinystories', file: 'tinystories/valid-a.txt', format: 'text' },
  { name: 'wikitext2', file: 'wikitext-2/wikitext-2-raw-test.crlf.txt', format: 'text' },
  { name: 'gsm8k', file: 'gsm8k/test.jsonl', format: 'gsm8k' },
  { name: 'hellaswag', file: 'hellaswag/hellaswag_val_subset1000.jsonl', format: 'hellaswag' },
  { name: 'arc-easy', file: 'arc/ARC-Easy-Test.jsonl', format: 'arc' },
];

// KVBENCH_ENGINE_ASSETS: as for the bundled model (model/load.ts), for bundles and images that move the assets.
export const BUNDLED_DATA_DIR = process.env.KVBENCH_ENGINE_ASSETS
  ? join(process.env.KVBENCH_ENGINE_ASSETS, 'data') + sep
  : fileURLToPath(new URL('../../assets/data/', import.meta.url));

export function bundledBenchmark(name: string): BundledBenchmark | undefined {
  return BUNDLED_BENCHMARKS.find((b) => b.name === name.toLowerCase());
}
