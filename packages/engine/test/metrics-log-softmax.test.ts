// Metrics against float64 hand computations on fresh random inputs.
import { describe, expect, it } from 'vitest';
import { argmax, binomialStderr, clusteredMean, klDivergence, logSoftmax, mean, meanStderr, negativeLogLikelihood, PairedScore } from '../src/metrics';

function randomLogits(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** Plain float64 softmax through BigInt-free direct exponentials, for moderate logits only. */
function naiveLogSoftmax(x: ArrayLike<number>): number[] {
  let z = 0;
  for (let i = 0; i < x.length; i++) z += Math.exp(x[i]);
  return Array.from(x, (v) => v - Math.log(z));
}

describe('logSoftmax', () => {
  it('matches the direct formula on moderate logits', () => {
    const x = randomLogits(1000, 5, 1);
    const got = logSoftmax(x);
    const want = naiveLogSoftmax(x);
    for (let i = 0; i < x.length; i++) expect(got[i]).toBeCloseTo(want[i], 12);
  });

  it('stays finite and normalised for huge logits where the direct formula overflows', () => {
    const x = randomLogits(50_000, 1, 2).map((v) => v + 1e4);
    const lp = logSoftmax(x);
    let total = 0;
    for (const v of lp) {
      expect(Number.isFinite(v)).toBe(true);
      total += Math.exp(v);
    }
    expect(total).toBeCloseTo(1, 10);
    // shift invariance: the same as the unshifted logits
    const base = logSoftmax(x.map((v) => v - 1e4));
    for (let i = 0; i < 100; i++) expect(lp[i]).toBeCloseTo(base[i], 3); // float32 inputs round at 1e4
  });

  it('argmax takes the first of equal maxima', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
});

describe('KL and NLL', () => {
  it('KL(p||q) equals the float64 sum p (log p - log q), is 0 for p = q and positive otherwise', () => {
    const a = randomLogits(512, 4, 3);
    const b = randomLogits(512, 4, 4);
    const lp = logSoftmax(a);
    const lq = logSoftmax(b);
    let want = 0;
    const p = naiveLogSoftmax(a).map(Math.exp);
    const q = naiveLogSoftmax(b).map(Math.exp);
    for (let i = 0; i < p.length; i++) want += p[i] * Math.log(p[i] / q[i]);
    expect(klDivergence(lp, lq)).toBeCloseTo(want, 12);
    expect(klDivergence(lp, lp)).toBe(0);
    expect(klDivergence(lp, lq)).toBeGreaterThan(0);
  });

  it('KL treats 0 log 0 as 0 and p > 0 where q = 0 as infinite', () => {
    expect(klDivergence([0, -Infinity], [Math.log(0.5), Math.log(0.5)])).toBeCloseTo(Math.log(2), 15);
    expect(klDivergence([Math.log(0.5), Math.log(0.5)], [0, -Infinity])).toBe(Infinity);
  });

  it('NLL is -log p(target) and rejects targets outside the vocabulary', () => {
    const lp = logSoftmax([1, 2, 3]);
    expect(negativeLogLikelihood(lp, 2)).toBeCloseTo(-(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3))), 15);
    expect(() => negativeLogLikelihood(lp, 3)).toThrow(/outside vocabulary/);
  });
});

describe('standard errors', () => {
  it('meanStderr is the sample sd over sqrt(n)', () => {
    const v = [1, 2, 3, 4, 10];
    const m = 4;
    const sd = Math.sqrt(((1 - m) ** 2 + (2 - m) ** 2 + (3 - m) ** 2 + (4 - m) ** 2 + (10 - m) ** 2) / 4);
    expect(mean(v)).toBe(4);
    expect(meanStderr(v)).toBeCloseTo(sd / Math.sqrt(5), 15);
  });

  it('binomialStderr equals meanStderr of the 0/1 outcomes (lm-eval convention)', () => {
    const outcomes = [1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1];
    const k = outcomes.filter((x) => x === 1).length;
    expect(binomialStderr(k, outcomes.length)).toBeCloseTo(meanStderr(outcomes), 15);
    expect(binomialStderr(1, 1)).toBeNaN();
  });

  it('clusteredMean: ratio mean over tokens, and with equal cluster sizes the stderr of the cluster means', () => {
    const sums = [2, 4, 9];
    const counts = [4, 4, 4];
    const r = clusteredMean(sums, counts);
    expect(r.mean).toBeCloseTo(15 / 12, 15);
    expect(r.stderr).toBeCloseTo(meanStderr(sums.map((s) => s / 4)), 15);
    const unequal = clusteredMean([1, 5], [1, 9]);
    expect(unequal.mean).toBeCloseTo(0.6, 15);
  });
});

describe('PairedScore', () => {
  it('accumulates perplexity, KL, top-1 and the paired NLL delta from logits', () => {
    const score = new PairedScore(64);
    let nllQ = 0;
    let nllF = 0;
    let kl = 0;
    let agree = 0;
    const docs: number[] = [];
    for (let d = 0; d < 3; d++) {
      score.beginDocument();
      let delta = 0;
      for (let t = 0; t < 5; t++) {
        const f = randomLogits(64, 3, 100 + d * 10 + t);
        const q = f.map((v, i) => v + Math.sin(i + t + d) * 0.3);
        const target = (d * 7 + t * 3) % 64;
        score.add(f, q, target);
        const lf = naiveLogSoftmax(f);
        const lq = naiveLogSoftmax(q);
        nllQ -= lq[target];
        nllF -= lf[target];
        delta += -lq[target] + lf[target];
        for (let i = 0; i < 64; i++) kl += Math.exp(lf[i]) * (lf[i] - lq[i]);
        if (argmax(f) === argmax(q)) agree++;
      }
      docs.push(delta);
    }
    const r = score.result();
    expect(r.scoredTokens).toBe(15);
    expect(r.perplexity).toBeCloseTo(Math.exp(nllQ / 15), 12);
    expect(r.perplexityFp).toBeCloseTo(Math.exp(nllF / 15), 12);
    expect(r.kl).toBeCloseTo(kl / 15, 12);
    expect(r.top1).toBeCloseTo(agree / 15, 15);
    expect(r.nllDelta).toBeCloseTo((nllQ - nllF) / 15, 12);
    expect(r.nllDeltaStderr).toBeCloseTo(meanStderr(docs.map((x) => x / 5)), 12);
  });
});
