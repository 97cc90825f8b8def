// The float64 reference on the real stories260K model, against numbers computed outside the project
// (assets/stories260k/SOURCE.txt and ../shared/spec/reference-stories260k.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadedModel } from '../src/model';
import { ENGINE_ASSETS_DIR, loadModel } from '../src/model';
import { greedyGenerate, negativeLogLikelihood, ReferenceModel, sequenceNll } from '../src/reference';
import type { TextTokenizer } from '../src/tokenizer';
import { loadTokenizer } from '../src/tokenizer';

let model: LoadedModel;
let tokenizer: TextTokenizer;
let documents: string[];

beforeAll(async () => {
  model = await loadModel('stories260k');
  tokenizer = await loadTokenizer('stories260k');
  const text = readFileSync(join(ENGINE_ASSETS_DIR, 'data', 'tinystories', 'valid-a.txt'), 'utf8');
  documents = text.split(/\n\s*\n/).map((d) => d.trim()).filter((d) => d.length > 0);
});

describe('stories260K through the float64 reference', () => {
  it('greedy decoding from BOS tells the Lily story', () => {
    const ids = greedyGenerate(new ReferenceModel(model.config, model.weights), [tokenizer.bosId!], 40);
    const text = tokenizer.decode(ids);
    expect(text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    expect(text.startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.')).toBe(true);
  });

  it('perplexity over the first 400 tokens of TinyStories validation text is about 3.9', () => {
    let stream: number[] = [];
    for (const doc of documents) {
      stream.push(...tokenizer.encode(doc, { bos: true }));
      if (stream.length > 400) break;
    }
    stream = stream.slice(0, 401);
    const nll = sequenceNll(new ReferenceModel(model.config, model.weights), stream);
    expect(nll).toHaveLength(400);
    const perplexity = Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);
    expect(Math.abs(perplexity - 3.9)).toBeLessThan(0.15);
  });

  it('reproduces the full-precision ppl-decode row: 1823 scored tokens, perplexity 3.6143', () => {
    // 40 documents of >= 66 tokens (BOS included), at most 192 tokens each; tokens after the first 64 scored.
    const reference = new ReferenceModel(model.config, model.weights);
    let sum = 0;
    let scored = 0;
    let used = 0;
    for (const doc of documents) {
      const ids = tokenizer.encode(doc, { bos: true });
      if (ids.length < 66) continue;
      const tokens = ids.slice(0, 192);
      for (let pos = 0; pos + 1 < tokens.length; pos++) {
        const logits = reference.forward(tokens[pos], pos);
        if (pos + 1 >= 64) {
          sum += negativeLogLikelihood(logits, tokens[pos + 1]);
          scored++;
        }
      }
      if (++used === 40) break;
    }
    expect(scored).toBe(1823);
    expect(Math.exp(sum / scored)).toBeCloseTo(3.6143, 3);
  });
});

/** Frobenius norm of a row-major matrix. */
function frobenius(w: Float32Array): number {
  let s = 0;
  for (const x of w) s += x * x;
  return Math.sqrt(s);
}

/** Largest singular value of W [rows, cols] by power iteration on W W^T (float64). */
function spectralNorm(w: Float32Array, rows: number, cols: number, iterations = 500): number {
  const gram = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += w[i * cols + k] * w[j * cols + k];
      gram[i * rows + j] = s;
    }
  }
  let v = new Float64Array(rows).fill(1 / Math.sqrt(rows));
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) next[i] += gram[i * rows + j] * v[j];
    lambda = Math.sqrt(next.reduce((a, b) => a + b * b, 0));
    v = next.map((x) => x / lambda);
  }
  return Math.sqrt(lambda);
}

describe('stories260K W_K / W_V norms per layer (reference-stories260k.md)', () => {
  const table = [
    [10.240015, 2.0903, 8.318957, 0.637009],
    [10.462956, 2.222579, 8.352987, 0.629266],
    [8.273525, 2.763706, 6.200365, 0.876754],
    [9.258603, 3.202568, 7.459068, 0.966284],
    [6.874638, 4.661452, 4.888347, 1.351686],
  ];
  it('Frobenius norms match to 1e-5 and spectral norms to 1e-4', () => {
    const { config, weights } = model;
    const rows = config.kvHeads * config.headDim;
    table.forEach(([kF, vF, k2, v2], layer) => {
      const { wk, wv } = weights.layers[layer];
      expect(Math.abs(frobenius(wk) - kF)).toBeLessThan(1e-5);
      expect(Math.abs(frobenius(wv) - vF)).toBeLessThan(1e-5);
      expect(Math.abs(spectralNorm(wk, rows, config.hiddenSize) - k2)).toBeLessThan(1e-4);
      expect(Math.abs(spectralNorm(wv, rows, config.hiddenSize) - v2)).toBeLessThan(1e-4);
    });
  });
});
