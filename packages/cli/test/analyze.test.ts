// `kvbench analyze` locally on stories260K: the JSON fields, the W_K/W_V norms against the independent
// reference table (/work/shared/spec/reference-stories260k.md), the verdict, and attention metrics.
import { describe, expect, it } from 'vitest';
import { main } from '../src/main';

const REFERENCE = [
  { wkF: 10.240015, wvF: 2.0903, wkS: 8.318957, wvS: 0.637009 },
  { wkF: 10.462956, wvF: 2.222579, wkS: 8.352987, wvS: 0.629266 },
  { wkF: 8.273525, wvF: 2.763706, wkS: 6.200365, wvS: 0.876754 },
  { wkF: 9.258603, wvF: 3.202568, wkS: 7.459068, wvS: 0.966284 },
  { wkF: 6.874638, wvF: 4.661452, wkS: 4.888347, wvS: 1.351686 },
];

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), tty: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('kvbench analyze', () => {
  it('--json: per-layer norms equal the reference table to 1e-5; K > V in 5/5 layers', async () => {
    const r = await cli('analyze', '--model', 'stories260k', '--benchmark', 'tinystories', '--limit', '4', '--max-tokens', '64', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.layers).toHaveLength(5);
    j.layers.forEach((l: any, i: number) => {
      expect(Math.abs(l.wk.frobenius - REFERENCE[i].wkF)).toBeLessThan(1e-5);
      expect(Math.abs(l.wv.frobenius - REFERENCE[i].wvF)).toBeLessThan(1e-5);
      expect(Math.abs(l.wk.spectral - REFERENCE[i].wkS)).toBeLessThan(1e-5);
      expect(Math.abs(l.wv.spectral - REFERENCE[i].wvS)).toBeLessThan(1e-5);
      expect(l.wk.heads).toHaveLength(4);
      expect(l.k.frobenius).toBeGreaterThan(l.v.frobenius);
      expect(l.kPreRope.frobenius).toBeCloseTo(l.k.frobenius, 9); // RoPE is a rotation
      expect(l.k.singularValues).toHaveLength(32); // kvHeads * headDim, descending
      expect(l.v.singularValues).toHaveLength(32);
      for (let s = 1; s < 32; s++) expect(l.k.singularValues[s]).toBeLessThanOrEqual(l.k.singularValues[s - 1]);
      expect(l.k.singularValues[0]).toBeCloseTo(l.k.spectral, 9);
    });
    expect(j.verdict).toMatchObject({ layers: 5, weightFrobenius: 5, weightSpectral: 5, cacheFrobenius: 5, cacheSpectral: 5 });
    expect(j.documents).toBe(4);
  }, 60_000);

  it('table output with attention metrics and the verdict line', async () => {
    const r = await cli('analyze', '--benchmark', 'tinystories', '--limit', '3', '--max-tokens', '48', '--kbits', '2', '--vbits', '4', '--group-size', '8');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^model {4}stories260k \(llama2c, 5 layers/);
    expect(r.out).toMatch(/\|W_K\|_F/);
    expect(r.out).toMatch(/attention with K2V4 quanto \(K per-token G=8, V per-token G=8\)/);
    expect(r.out).toMatch(/KL mean/);
    expect(r.out).toMatch(/K > V in 5\/5 layers \(weights Frobenius\), 5\/5 \(weights spectral\), 5\/5 \(cache Frobenius\)/);
  }, 60_000);

  it('bad flags name the flag', async () => {
    expect((await cli('analyze', '--kbits', '9')).err).toMatch(/--kbits/);
    expect((await cli('analyze', '--benchmark', 'gsm8k')).err).toMatch(/--benchmark/);
    expect((await cli('analyze', '--no-data', '--kbits', '4')).err).toMatch(/data sample/);
  });
});
