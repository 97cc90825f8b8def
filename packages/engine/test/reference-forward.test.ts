// Family features of the float64 reference, each checked against an equivalent model that does not use
// the feature (so the check does not restate the implementation).
import { describe, expect, it } from 'vitest';
import type { ModelConfig, ModelWeights } from '../src/model';
import { presetConfig, randomModelWeights, TINY_PRESET_NAMES } from '../src/model';
import { ReferenceModel, ropeInverseFrequencies } from '../src/reference';

const TOKENS = [5, 17, 250, 3, 99, 42, 42, 7, 300, 11];

function run(config: ModelConfig, weights: ModelWeights, tokens = TOKENS): Float64Array[] {
  const model = new ReferenceModel(config, weights);
  return tokens.map((t, pos) => model.forward(t, pos));
}

function maxRelativeDifference(a: Float64Array[], b: Float64Array[]): number {
  let worst = 0;
  a.forEach((row, i) => {
    let scale = 0;
    for (const x of row) scale = Math.max(scale, Math.abs(x));
    row.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - b[i][j]) / scale)));
  });
  return worst;
}

/** Reorders each head's rows of a [heads*headDim, in] matrix from interleaved to half pairing. */
function interleavedToHalf(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      const src0 = (h * headDim + 2 * i) * cols;
      const src1 = (h * headDim + 2 * i + 1) * cols;
      out.set(w.subarray(src0, src0 + cols), (h * headDim + i) * cols);
      out.set(w.subarray(src1, src1 + cols), (h * headDim + headDim / 2 + i) * cols);
    }
  }
  return out;
}

describe('reference forward: family features', () => {
  const base = presetConfig('tiny-llama-mha');
  // std 0.2 keeps logits well away from uniform so differences would show.
  const weights = randomModelWeights(base, 1, 0.2);

  it('is finite and deterministic', () => {
    const a = run(base, weights);
    expect(a.every((row) => row.every(Number.isFinite))).toBe(true);
    expect(maxRelativeDifference(a, run(base, weights))).toBe(0);
  });

  it('interleaved RoPE on permuted q/k rows equals half (rotate_half) RoPE', () => {
    const interleaved: ModelConfig = { ...base, ropePairing: 'interleaved' };
    const permuted: ModelWeights = {
      ...weights,
      layers: weights.layers.map((l) => ({
        ...l,
        wq: interleavedToHalf(l.wq, base.heads, base.headDim, base.hiddenSize),
        wk: interleavedToHalf(l.wk, base.kvHeads, base.headDim, base.hiddenSize),
      })),
    };
    expect(maxRelativeDifference(run(interleaved, weights), run(base, permuted))).toBeLessThan(1e-12);
    // and pairing matters at all:
    expect(maxRelativeDifference(run(interleaved, weights), run(base, weights))).toBeGreaterThan(1e-3);
  });

  it('GQA equals MHA with each KV head duplicated across its query group', () => {
    const gqa: ModelConfig = { ...base, kvHeads: 2 };
    const gqaWeights = randomModelWeights(gqa, 2, 0.2);
    const kvRows = base.headDim * base.hiddenSize;
    const duplicate = (w: Float32Array): Float32Array => {
      const out = new Float32Array(base.heads * kvRows);
      for (let h = 0; h < base.heads; h++) {
        const kvHead = Math.floor(h / (base.heads / gqa.kvHeads));
        out.set(w.subarray(kvHead * kvRows, (kvHead + 1) * kvRows), h * kvRows);
      }
      return out;
    };
    const mhaWeights: ModelWeights = {
      ...gqaWeights,
      layers: gqaWeights.layers.map((l) => ({ ...l, wk: duplicate(l.wk), wv: duplicate(l.wv) })),
    };
    expect(maxRelativeDifference(run(gqa, gqaWeights), run(base, mhaWeights))).toBeLessThan(1e-12);
  });

  it('tied embeddings equal an untied head holding a copy of the embedding', () => {
    const tied: ModelConfig = { ...base, tiedEmbeddings: true };
    const tiedWeights = { ...weights, lmHead: weights.embed };
    const untiedCopy = { ...weights, lmHead: weights.embed.slice() };
    expect(maxRelativeDifference(run(tied, tiedWeights), run(base, untiedCopy))).toBe(0);
  });

  it('QK-norm makes the output invariant to the scale of W_q and W_k; without it the scale matters', () => {
    // eps ~0 so the norm is exactly scale-invariant.
    const qwen3 = { ...presetConfig('tiny-qwen3-qknorm'), rmsEps: 1e-30 };
    const w = randomModelWeights(qwen3, 3, 0.2);
    const scaled: ModelWeights = {
      ...w,
      layers: w.layers.map((l) => ({ ...l, wq: l.wq.map((x) => x * 4), wk: l.wk.map((x) => x * 2) })),
    };
    expect(maxRelativeDifference(run(qwen3, w), run(qwen3, scaled))).toBeLessThan(1e-9);
    const noNorm = { ...qwen3, qkNorm: false };
    expect(maxRelativeDifference(run(noNorm, w), run(noNorm, scaled))).toBeGreaterThan(1e-3);
  });

  it('QKV bias: zero bias equals no bias; a random bias changes the output', () => {
    const qwen2 = presetConfig('tiny-qwen2-bias');
    const w = randomModelWeights(qwen2, 4, 0.2);
    const zeroBias: ModelWeights = {
      ...w,
      layers: w.layers.map((l) => ({ ...l, bq: new Float32Array(l.bq!.length), bk: new Float32Array(l.bk!.length), bv: new Float32Array(l.bv!.length) })),
    };
    const noBias: ModelWeights = { ...w, layers: w.layers.map(({ bq, bk, bv, ...rest }) => rest) };
    expect(maxRelativeDifference(run(qwen2, zeroBias), run({ ...qwen2, attentionBias: false }, noBias))).toBe(0);
    expect(maxRelativeDifference(run(qwen2, w), run(qwen2, zeroBias))).toBeGreaterThan(1e-4);
  });

  it('sliding window: one layer at position p sees exactly the last W tokens (RoPE is relative)', () => {
    const mistral: ModelConfig = { ...presetConfig('tiny-mistral'), layers: 1, slidingWindow: 4 };
    const w = randomModelWeights(mistral, 5, 0.2);
    const full = run(mistral, w);
    const p = TOKENS.length - 1;
    const windowOnly = run(mistral, w, TOKENS.slice(p - 3));
    expect(maxRelativeDifference([full[p]], [windowOnly[3]])).toBeLessThan(1e-9);
    const unlimited = run({ ...mistral, slidingWindow: null }, w);
    expect(maxRelativeDifference([full[p]], [unlimited[p]])).toBeGreaterThan(1e-4);
    expect(maxRelativeDifference([full[3]], [unlimited[3]])).toBeLessThan(1e-15);
  });

  it('Llama 3 RoPE scaling keeps short wavelengths, divides long ones by the factor, interpolates between', () => {
    const scaling = { type: 'llama3' as const, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    const plain = ropeInverseFrequencies(64, 500000, null);
    const scaled = ropeInverseFrequencies(64, 500000, scaling);
    for (let i = 0; i < 32; i++) {
      const wavelen = (2 * Math.PI) / plain[i];
      if (wavelen < 8192 / 4) expect(scaled[i]).toBe(plain[i]);
      else if (wavelen > 8192 / 1) expect(scaled[i]).toBeCloseTo(plain[i] / 32, 15);
      else {
        expect(scaled[i]).toBeLessThan(plain[i]);
        expect(scaled[i]).toBeGreaterThan(plain[i] / 32);
      }
    }
    expect(plain[0]).toBe(1);
    expect(plain[1]).toBeCloseTo(500000 ** (-2 / 64), 15);
    const llama3 = presetConfig('tiny-llama3-gqa');
    expect(llama3.ropeScaling?.type).toBe('llama3');
    const lw = randomModelWeights(llama3, 6, 0.2);
    expect(maxRelativeDifference(run(llama3, lw), run({ ...llama3, ropeScaling: null }, lw))).toBeGreaterThan(1e-6);
  });

  it('cache hooks: identity hooks change nothing; a transformed store is what attention reads', () => {
    const plain = run(base, weights);
    const identity = new ReferenceModel(base, weights, { storeTransform: (_l, _k, v) => v, attentionView: (_l, _k, c) => c });
    const hooked = TOKENS.map((t, pos) => identity.forward(t, pos));
    expect(maxRelativeDifference(plain, hooked)).toBe(0);
    // Zeroing stored values makes attention output zero: the model then equals one with W_o = 0.
    const zeroV = new ReferenceModel(base, weights, { storeTransform: (_l, kind, v) => (kind === 'v' ? new Float64Array(v.length) : v) });
    const zeroWo: ModelWeights = { ...weights, layers: weights.layers.map((l) => ({ ...l, wo: new Float32Array(l.wo.length) })) };
    expect(maxRelativeDifference(TOKENS.map((t, pos) => zeroV.forward(t, pos)), run(base, zeroWo))).toBe(0);
    expect(zeroV.valueCache[0].every((x) => x === 0)).toBe(true);
    expect(zeroV.keyCache[0].some((x) => x !== 0)).toBe(true);
  });

  it('a block of tokens gives the same caches, queries and last logits as token by token, bit for bit, in every family', () => {
    // Sliding window 3 and a hook that rounds stored keys: both must act per position inside a block too.
    const round = (_l: number, kind: string, v: Float64Array) => (kind === 'k' ? v.map((x) => Math.round(x * 64) / 64) : v);
    for (const preset of TINY_PRESET_NAMES) {
      const config: ModelConfig = preset === 'tiny-mistral' ? { ...presetConfig(preset), slidingWindow: 3 } : presetConfig(preset);
      const w = randomModelWeights(config, 8, 0.2);
      const queries = (into: number[][]) => (l: number, q: Float64Array, pos: number) => l === 1 && (into[pos] = [...q]);
      const [oneQ, blockQ]: number[][][] = [[], []];
      const one = new ReferenceModel(config, w, { storeTransform: round, onQuery: queries(oneQ) });
      const block = new ReferenceModel(config, w, { storeTransform: round, onQuery: queries(blockQ) });
      const logits = TOKENS.map((t, pos) => one.forward(t, pos));
      // 3 + 6 + 1 tokens: blocks longer and shorter than the matmul's 4 tokens at a time, then one token.
      block.forwardBlock(TOKENS.slice(0, 3), 0, { logits: false });
      expect(block.forwardBlock(TOKENS.slice(3, 9), 3)).toEqual(logits[8]);
      expect(block.forwardBlock(TOKENS.slice(9), 9)).toEqual(logits[9]);
      expect(block.keyCache, preset).toEqual(one.keyCache);
      expect(block.valueCache, preset).toEqual(one.valueCache);
      expect(blockQ, preset).toEqual(oneQ);
    }
  });

  it('rejects tokens outside the vocabulary and positions outside the cache', () => {
    const model = new ReferenceModel(base, weights, { maxSequence: 4 });
    expect(() => model.forward(base.vocabSize, 0)).toThrow(/outside vocabulary/);
    expect(() => model.forward(0, 4)).toThrow(/outside cache capacity/);
    expect(() => model.forwardBlock([1, 2, 3], 2)).toThrow(/position 4 outside cache capacity/);
    expect(() => model.forwardBlock([1, base.vocabSize], 0)).toThrow(/outside vocabulary/);
    expect(() => model.forwardBlock([], 0)).toThrow(/no tokens/);
  });
});
