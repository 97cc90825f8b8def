// evaluate() on a Hugging Face directory (a generated random-weight tiny Qwen3 with per-head QK-norm and
// a byte-level BPE tokenizer.json) and on user data files: all three protocols, ONNX Runtime against
// the float64 reference sessions.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, generateRandomModel, type CachePolicy, type EvalOptions } from '../src';

let dir: string;
let files: string;
beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'kvbench-eval-hf-'));
  dir = generateRandomModel({ preset: 'tiny-qwen3-qknorm', outDir: join(root, 'model'), seed: 7 }).dir;
  files = root;
  writeFileSync(join(root, 'stories.txt'), 'The cat sat on the mat and looked at the bird outside.\n\nA boy ran to the park with his red ball, and his dog ran after him.\n\nShort.\n');
  writeFileSync(join(root, 'math.jsonl'), [
    JSON.stringify({ question: 'Tom has 2 cats and 1 dog. How many pets?', answer: '2 + 1 = 3\n#### 3' }),
    JSON.stringify({ question: 'Sue has 5 pens and gives 2 away. How many are left?', answer: '5 - 2 = 3\n#### 3' }),
  ].join('\n'));
  writeFileSync(join(root, 'mc.jsonl'), JSON.stringify({ context: 'The sky is', choices: ['blue', 'made of cheese', 'green'], answer: 0 }) + '\n');
});

const quantizer = (bits: number) => ({ bits, backend: 'quanto' as const, axis: 'per-token' as const, groupSize: 16, metaDtype: 'fp16' as const, hqqMode: 'faithful' as const });
const cache: CachePolicy = { quant: { key: quantizer(2), value: quantizer(2) }, residualLength: 4, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' };

async function both(options: EvalOptions) {
  return [await evaluate(options, {}, { inThread: false }), await evaluate(options, {}, { engine: 'reference', inThread: false })] as const;
}

describe('evaluate on a Hugging Face directory', () => {
  it('ppl-decode from a user text file', async () => {
    const [onnx, reference] = await both({ model: dir, data: join(files, 'stories.txt'), format: 'text', protocol: 'ppl-decode', prompt: 6, maxTokens: 40, limit: 5, cache, provider: 'cpu' });
    expect(onnx.model.architecture).toBe('Qwen3ForCausalLM');
    expect(onnx.benchmark.items).toBe(2); // "Short." is under prompt + 2 tokens
    expect(onnx.metrics.scoredTokens).toBe(reference.metrics.scoredTokens);
    expect(Math.abs(onnx.metrics.perplexity! / reference.metrics.perplexity! - 1)).toBeLessThan(1e-4);
    expect(Math.abs(onnx.metrics.kl! - reference.metrics.kl!)).toBeLessThan(1e-3 * reference.metrics.kl! + 1e-7);
    expect(onnx.memory.kvBytesPerToken).toBe(reference.memory.kvBytesPerToken);
    // 2 layers x 2 KV heads x 16 dims, 2-bit codes + fp16 scale and zero per 16: (2 + 2) bits, K and V.
    expect(onnx.memory.kvBytesPerToken).toBe((2 * 2 * 16 * (4 + 4)) / 8);
  });

  it('gen-exact and mc-decode from user files', async () => {
    const [g1, g2] = await both({ model: dir, data: join(files, 'math.jsonl'), format: 'gsm8k', protocol: 'gen-exact', fewShot: 1, prompt: 1, maxTokens: 6, limit: 1, cache, provider: 'cpu' });
    expect(g1.samples[0].output).toBe(g2.samples[0].output);
    expect(g1.samples[0].outputFp).toBe(g2.samples[0].outputFp);
    expect(g1.samples[0].reference).toBe('3');
    const [m1, m2] = await both({ model: dir, data: join(files, 'mc.jsonl'), format: 'mc-jsonl', protocol: 'mc-decode', prompt: 1, maxTokens: 1, limit: 1, cache, provider: 'cpu' });
    expect(m1.samples[0].output).toBe(m2.samples[0].output);
    expect(m1.samples[0].nll!).toBeCloseTo(m2.samples[0].nll!, 4);
  });
});
