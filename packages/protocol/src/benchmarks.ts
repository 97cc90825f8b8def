// Bundled benchmarks and the protocol each one runs under by default (benchmarks.md).
/**
 * 'analyze' is not a benchmark protocol: it runs the K/V norm and spectrum analysis (issue 6) on a sample
 * of a text benchmark's documents, with attention-level metrics when keyBits/valueBits are below 16.
 */
export const PROTOCOLS = ['ppl-decode', 'gen-exact', 'mc-decode', 'analyze'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
/** Protocols that evaluate a benchmark (the leaderboard's); the engine's evaluate() runs these. */
export type EvalProtocol = Exclude<Protocol, 'analyze'>;

export const DATA_FORMATS = ['text', 'gsm8k', 'hellaswag', 'arc', 'mc-jsonl'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface KnownBenchmark {
  name: string;
  protocol: Protocol;
  format: DataFormat;
  /** which protocols can read this data */
  protocols: readonly Protocol[];
}

export const KNOWN_BENCHMARKS: readonly KnownBenchmark[] = [
  { name: 'tinystories', protocol: 'ppl-decode', format: 'text', protocols: ['ppl-decode', 'analyze'] },
  { name: 'wikitext2', protocol: 'ppl-decode', format: 'text', protocols: ['ppl-decode', 'analyze'] },
  { name: 'gsm8k', protocol: 'gen-exact', format: 'gsm8k', protocols: ['gen-exact'] },
  { name: 'hellaswag', protocol: 'mc-decode', format: 'hellaswag', protocols: ['mc-decode'] },
  { name: 'arc-easy', protocol: 'mc-decode', format: 'arc', protocols: ['mc-decode'] },
];

export const BENCHMARK_NAMES = KNOWN_BENCHMARKS.map((b) => b.name) as [string, ...string[]];

export function findBenchmark(name: string): KnownBenchmark | undefined {
  return KNOWN_BENCHMARKS.find((b) => b.name === name.trim().toLowerCase());
}
