// The float64 reference's cache sample (the attention-level metrics every quantized run computes on the
// CPU, analysis/run-attention-stats.ts): token by token (forward) against a whole document per block
// (forwardBlock: each weight read once per block), same run, same numbers. Reduced-depth random models of
// real widths; the time scales with the layers.
//
// Usage: npx tsx bench/engine/reference-sample.ts [--models Llama-3.2-1B:2,Qwen3-8B:1] [--tokens 64] [--runs 3]
//          [--out bench/results/reference-sample.md]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { presetConfig, randomModelWeights, type PresetName } from '../../packages/engine/src/model';
import { ReferenceModel } from '../../packages/engine/src/reference';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'Llama-3.2-1B:2,Qwen3-8B:1' },
    tokens: { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/reference-sample.md' },
  },
});
const tokens = Number(args.tokens);
const runs = Number(args.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const lines = [
  `# The float64 reference's cache sample: token by token vs one block per document`,
  '',
  `\`npx tsx bench/engine/reference-sample.ts ${process.argv.slice(2).join(' ')}\`; ${cpus()[0]?.model ?? 'cpu'}, one thread; ${tokens} tokens (ATTENTION_SAMPLE), median of ${runs} runs each, vocabulary 8192 (no logits are computed in block mode: the sample needs none).`,
  '',
  '| model (layers) | token by token (s) | block (s) | speed-up | s per layer, block | same caches |',
  '|---|---:|---:|---:|---:|---|',
];
for (const spec of args.models!.split(',')) {
  const [name, layersText] = spec.split(':');
  const layers = Number(layersText ?? 1);
  const config = { ...presetConfig(name as PresetName), layers, vocabSize: 8192 };
  const weights = randomModelWeights(config, 1);
  const doc = Array.from({ length: tokens }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const perToken: number[] = [];
  const block: number[] = [];
  let same = true;
  for (let r = 0; r < runs; r++) {
    const a = new ReferenceModel(config, weights, { maxSequence: tokens });
    let t = performance.now();
    for (let pos = 0; pos < tokens; pos++) a.forward(doc[pos], pos);
    perToken.push((performance.now() - t) / 1000);
    const b = new ReferenceModel(config, weights, { maxSequence: tokens });
    t = performance.now();
    b.forwardBlock(doc, 0, { logits: false });
    block.push((performance.now() - t) / 1000);
    same &&= a.keyCache.every((k, l) => k.every((x, i) => x === b.keyCache[l][i])) && a.valueCache.every((v, l) => v.every((x, i) => x === b.valueCache[l][i]));
  }
  const [p, q] = [median(perToken), median(block)];
  const row = `| ${name} (${layers}) | ${p.toFixed(2)} | ${q.toFixed(2)} | ${(p / q).toFixed(2)}x | ${(q / layers).toFixed(2)} | ${same ? 'yes, bit for bit' : 'NO'} |`;
  lines.push(row);
  console.log(row);
}
mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, lines.join('\n') + '\n');
console.log(`wrote ${args.out}`);
