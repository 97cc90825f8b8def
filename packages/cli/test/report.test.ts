// Issue 6 over HTTP: `kvbench submit --protocol analyze` through the API, the queue and a worker;
// the key-first sweep template; `kvbench report --sweep` (GET /api/sweeps/:id/key-first) with its
// paired standard error checked by hand against the per-document NLL the runs stored.
import { describe, expect, it } from 'vitest';
import { getRunDetail } from '@kvbench/db';
import { useCliStack } from './http-stack';

const { stack, cli } = useCliStack();

describe('analyze jobs and the key-first report over HTTP', () => {
  it('kvbench submit --protocol analyze runs the analysis on a worker and stores it', async () => {
    const r = await cli('submit', '--protocol', 'analyze', '--model', 'stories260k', '--benchmark', 'tinystories', '--limit', '2', '--max-tokens', '32', '--wait');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/K16V16 stories260k tinystories {2}succeeded {2}layersKgtV\.frobenius = 5/);
    const id = /^run ([0-9a-f-]{36})/.exec(r.out)![1];
    const detail = (await getRunDetail(stack.env.db.db, id))!;
    expect(detail.run.protocol).toBe('analyze');
    expect(detail.layerStats.find((s) => s.layer === 1 && s.tensor === 'k' && s.metric === 'wk.frobenius')!.value).toBeCloseTo(10.462956, 5);
    expect(detail.layerStats.some((s) => s.metric === 'attn.klMean')).toBe(false); // K16V16: no quantizer
  }, 60_000);

  it('the key-first template previews as 16 cells; report pairs K4V2 with K2V4 with a paired stderr', async () => {
    const common = ['--models', 'stories260k', '--benchmarks', 'tinystories', '--group-sizes', '8', '--residuals', '16', '--prompt', '16', '--max-tokens', '40', '--limit', '4'];
    const p = await cli('sweep', ...common, '--template', 'key-first', '--preview');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/^16 cells/);

    const s = await cli('sweep', ...common, '--pairs', 'K4V2,K2V4,K3V3', '--wait');
    expect(s.code).toBe(0);
    const sweepId = /sweep ([0-9a-f-]{36})/.exec(s.out)![1];
    const res = await fetch(`${stack.server.url}/api/sweeps/${sweepId}/key-first`);
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report.pairs).toHaveLength(1);
    const pair = report.pairs[0];
    expect(pair).toMatchObject({ metric: 'perplexity', stderrMethod: 'paired', pairedItems: 4, keyFirst: { keyBits: 4, valueBits: 2 }, valueFirst: { keyBits: 2, valueBits: 4 } });
    // By hand from the stored per-document NLL: z_i = ppl_A nll_A,i - ppl_B nll_B,i, stderr = sd(z)/sqrt(n).
    const a = (await getRunDetail(stack.env.db.db, pair.keyFirst.runId))!;
    const b = (await getRunDetail(stack.env.db.db, pair.valueFirst.runId))!;
    const z = a.samples.map((sa, i) => a.run.primaryValue! * sa.nll! - b.run.primaryValue! * b.samples[i].nll!);
    const mean = z.reduce((x, y) => x + y, 0) / z.length;
    const se = Math.sqrt(z.reduce((x, y) => x + (y - mean) ** 2, 0) / (z.length - 1) / z.length);
    expect(pair.stderr).toBeCloseTo(se, 10);
    expect(pair.difference).toBeCloseTo(a.run.primaryValue! - b.run.primaryValue!, 12);
    expect(pair.keyFirstBetter).toBe(true); // stories260K: 2-bit keys collapse (reference-stories260k.md)

    const text = await cli('report', '--sweep', sweepId);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/K4V2 \d+\.\d{4}\s+K2V4 \d+\.\d{4}\s+-\d+\.\d{4}\s+\d+\.\d{4}\s+paired \(4\)\s+K-first/);
    expect(text.out).toMatch(/1 pairs, 1 compared: key-first better in 1\/1 \(stderr paired in 1, independent in 0\)/);
    expect((await cli('report', '--sweep', '00000000-0000-0000-0000-000000000000')).err).toMatch(/HTTP 404/);
    expect((await cli('report')).err).toMatch(/--sweep/);
  }, 90_000);
});
