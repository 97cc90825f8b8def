// The float64 reference's cache sample (the attention-level metrics of every quantized run, on the CPU) on
// one thread against its products split over several (reference/matmul-threads.ts), same process, same
// numbers. Reduced-depth random models of real widths; the time scales with the layers.
//
// Usage: npx tsx bench/engine/reference-threads.ts [--models Llama-3.2-1B:2,Qwen3-8B:1] [--tokens 64]
//          [--threads 2,4] [--runs 3] [--out bench/results/reference-threads.md]
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { presetConfig, randomModelWeights, type PresetName } from '../../packages/engine/src/model';
import { MatmulThreads, ReferenceModel } from '../../packages/engine/src/reference';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'Llama-3.2-1B:2,Qwen3-8B:1' },
    tokens: { type: 'string', default: '64' },
    threads: { type: 'string', default: String(availableParallelism()) },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/reference-threads.md' },
  },
});
const tokens = Number(args.tokens);
const runs = Number(args.runs);
const counts = args.threads!.split(',').map(Number).filter((n) => n > 1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const pools = new Map(counts.map((n) => [n, new MatmulThreads(n)]));

const lines = [
  `# The float64 reference's cache sample: one thread vs products split over threads`,
  '',
  `\`npx tsx bench/engine/reference-threads.ts ${process.argv.slice(2).join(' ')}\`; ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores; ` +
    `${tokens} tokens in one block (ATTENTION_SAMPLE), no logits, median of ${runs} runs each, vocabulary 8192. Speed-up = one thread / N threads, same run.`,
  '',
  '| model (layers) | threads | block (s) | s per layer | speed-up | same caches as one thread |',
  '|---|---:|---:|---:|---:|---|',
];
const write = () => {
  mkdirSync(dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, lines.join('\n') + '\n');
};
for (const spec of args.models!.split(',')) {
  const [name, layersText] = spec.split(':');
  const layers = Number(layersText ?? 1);
  const config = { ...presetConfig(name as PresetName), layers, vocabSize: 8192 };
  const weights = randomModelWeights(config, 1);
  const doc = Array.from({ length: tokens }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const sample = (pool?: MatmulThreads) => {
    const model = new ReferenceModel(config, weights, { maxSequence: tokens, threads: pool });
    const t = performance.now();
    model.forwardBlock(doc, 0, { logits: false });
    return { seconds: (performance.now() - t) / 1000, model };
  };
  const times = new Map<number, number[]>([[1, []], ...counts.map((n): [number, number[]] => [n, []])]);
  const same = new Map<number, boolean>(counts.map((n) => [n, true]));
  // Interleaved runs, so a slow period of the machine touches every setting alike.
  for (let r = 0; r < runs; r++) {
    const one = sample();
    times.get(1)!.push(one.seconds);
    for (const n of counts) {
      const split = sample(pools.get(n));
      times.get(n)!.push(split.seconds);
      const equal = split.model.keyCache.every((k, l) => k.every((x, i) => Object.is(x, one.model.keyCache[l][i]))) &&
        split.model.valueCache.every((v, l) => v.every((x, i) => Object.is(x, one.model.valueCache[l][i])));
      same.set(n, same.get(n)! && equal);
    }
  }
  const base = median(times.get(1)!);
  for (const [n, xs] of times) {
    const m = median(xs);
    const row = `| ${name} (${layers}) | ${n} | ${m.toFixed(2)} | ${(m / layers).toFixed(2)} | ${(base / m).toFixed(2)}x | ${n === 1 ? '-' : same.get(n) ? 'yes, bit for bit' : 'NO'} |`;
    lines.push(row);
    console.log(row);
  }
  write();
}
for (const pool of pools.values()) pool.close();
write();
console.log(`wrote ${args.out}`);
