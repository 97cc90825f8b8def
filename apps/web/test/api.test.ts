import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRuns, markRunning, writeRunResult } from '@kvbench/db';
import * as runsRoute from '../app/api/runs/route';
import * as runRoute from '../app/api/runs/[id]/route';
import * as sweepsRoute from '../app/api/sweeps/route';
import * as sweepRoute from '../app/api/sweeps/[id]/route';
import * as rerunRoute from '../app/api/sweeps/[id]/rerun-failed/route';
import * as boardRoute from '../app/api/leaderboard/route';
import * as healthRoute from '../app/api/health/route';
import * as eventsRoute from '../app/api/events/route';
import * as metricsRoute from '../app/metrics/route';
import * as queueRoute from '../app/api/queues/[name]/route';
import * as queuesRoute from '../app/api/queues/route';
import { submitRun } from '../lib/runs';
import { getServices } from '../lib/services';
import { params, req, setupApi } from './helpers';

let env: Awaited<ReturnType<typeof setupApi>>;
beforeAll(async () => {
  env = await setupApi();
});
afterAll(async () => env?.close());

const run = { model: 'stories260k', benchmark: 'tinystories', keyBits: 4, valueBits: 2, limit: 2 };

async function queueTotal(): Promise<number> {
  const counts = await env.queues.counts();
  return Object.values(counts).reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0);
}

describe('POST /api/runs', () => {
  it('needs the token', async () => {
    expect((await runsRoute.POST(req('POST', '/api/runs', run, { token: null }))).status).toBe(401);
    expect((await runsRoute.POST(req('POST', '/api/runs', run, { token: 'wrong' }))).status).toBe(401);
  });

  it('50 duplicate submissions produce one run and one job', async () => {
    const variants = [run, { ...run, keyGroupSize: 64 }, Object.fromEntries(Object.entries(run).reverse()), { ...run, model: 'Stories260K' }];
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => runsRoute.POST(req('POST', '/api/runs', variants[i % variants.length]))));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(responses.filter((r) => r.status === 201).length).toBe(1);
    expect(responses.filter((r) => r.status === 200).length).toBe(49);
    expect(bodies[0]).toMatchObject({ status: 'queued', model: 'stories260k', keyBits: 4, valueBits: 2, backend: 'quanto', deviceClass: 'cpu', provider: 'cpu', limit: 2 });
    expect(bodies[0].hash).toMatch(/^[0-9a-f]{64}$/);
    const job = await env.queues.queue('cpu').getJob(bodies[0].hash);
    expect(job?.data).toEqual({ runId: bodies[0].id });
    expect(await env.queues.queue('cpu').getJobCountByTypes('waiting')).toBe(1);
  });

  it('rejects bad input with 4xx naming the field, and changes nothing', async () => {
    const before = { runs: await countRuns(env.db.db), jobs: await queueTotal() };
    const bad = async (r: Request) => {
      const res = await runsRoute.POST(r);
      return { status: res.status, body: await res.json() };
    };
    const fields = (b: { issues?: { field: string }[] }) => b.issues?.map((i) => i.field);
    let r = await bad(req('POST', '/api/runs', undefined, { raw: '{"model": "stories260k", ' }));
    expect(r.status).toBe(400);
    expect(r.body.issues[0].message).toMatch(/malformed JSON/);
    r = await bad(req('POST', '/api/runs', undefined, { raw: '' }));
    expect(r.status).toBe(400);
    r = await bad(req('POST', '/api/runs', [1, 2, 3]));
    expect(r.status).toBe(400);
    r = await bad(req('POST', '/api/runs', { ...run, keyBits: 9 }));
    expect([r.status, fields(r.body)]).toEqual([400, ['keyBits']]);
    r = await bad(req('POST', '/api/runs', { ...run, valueBits: -1 }));
    expect([r.status, fields(r.body)]).toEqual([400, ['valueBits']]);
    r = await bad(req('POST', '/api/runs', { ...run, model: 'gpt-17' }));
    expect([r.status, fields(r.body)]).toEqual([400, ['model']]);
    r = await bad(req('POST', '/api/runs', { ...run, model: 'Llama-3.3-70B', provider: 'cuda' }));
    expect([r.status, fields(r.body)]).toEqual([400, ['model']]);
    expect(r.body.issues[0].message).toMatch(/fits no GPU class/);
    r = await bad(req('POST', '/api/runs', { ...run, limit: 'lots' }));
    expect([r.status, fields(r.body)]).toEqual([400, ['limit']]);
    r = await bad(req('POST', '/api/runs', { ...run, extra: 1 }));
    expect([r.status, fields(r.body)]).toEqual([400, ['extra']]);
    // 10 MB body: 413 while streaming, without a content-length to trust
    const big = new TextEncoder().encode(JSON.stringify({ ...run, model: 'x'.repeat(10 * 1024 * 1024) }));
    r = await bad(req('POST', '/api/runs', undefined, { raw: big }));
    expect(r.status).toBe(413);
    const declared = new Request('http://localhost/api/runs', { method: 'POST', headers: { authorization: `Bearer ${process.env.KVBENCH_API_TOKEN}`, 'content-length': String(10 * 1024 * 1024) }, body: '{}' });
    expect((await runsRoute.POST(declared)).status).toBe(413);
    expect({ runs: await countRuns(env.db.db), jobs: await queueTotal() }).toEqual(before);
  });

  it('stores SQL metacharacters and HTML in model names verbatim', async () => {
    const model = `x'); DROP TABLE runs; -- <img src=x onerror=alert(1)> "quoted" \\back`;
    const res = await runsRoute.POST(req('POST', '/api/runs', { ...run, model, modelShape: { layers: 2, kvHeads: 2, headDim: 8, params: 10000 } }));
    expect(res.status).toBe(201);
    const { id } = await res.json();
    const got = await (await runRoute.GET(req('GET', `/api/runs/${id}`), params({ id }))).json();
    expect(got.model).toBe(model);
    const board = await (await boardRoute.GET(req('GET', `/api/runs?status=queued`))).json();
    expect(board.total).toBeGreaterThanOrEqual(0);
    const list = await (await runsRoute.GET(req('GET', '/api/runs?status=queued'))).json();
    expect(list.runs.map((r: { model: string }) => r.model)).toContain(model);
  });
});

describe('GET and DELETE /api/runs/:id', () => {
  it('404s unknown ids, of any shape', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'nope', "1' or '1'='1"]) {
      expect((await runRoute.GET(req('GET', `/api/runs/${encodeURIComponent(id)}`), params({ id }))).status).toBe(404);
      expect((await runRoute.DELETE(req('DELETE', `/api/runs/x`), params({ id }))).status).toBe(404);
    }
  });

  it('cancels a queued run and removes its job', async () => {
    const r = await submitRun(await getServices(), { ...run, keyBits: 3 });
    expect(await env.queues.queue('cpu').getJob(r.run.hash)).toBeTruthy();
    expect((await runRoute.DELETE(req('DELETE', '/x', undefined, { token: null }), params({ id: r.run.id }))).status).toBe(401);
    const res = await runRoute.DELETE(req('DELETE', '/x'), params({ id: r.run.id }));
    expect(await res.json()).toMatchObject({ status: 'cancelled', outcome: 'removed' });
    expect(await env.queues.queue('cpu').getJob(r.run.hash)).toBeUndefined();
    // resubmitting a cancelled config queues it again (same row)
    const again = await submitRun(await getServices(), { ...run, keyBits: 3 });
    expect(again.run).toMatchObject({ id: r.run.id, status: 'queued' });
  });

  it('returns a finished identical run instead of re-running it', async () => {
    const s = await getServices();
    const r = await submitRun(s, { ...run, keyBits: 5 });
    await markRunning(s.db, r.run.id, 'test');
    await writeRunResult(s.db, r.run.id, {
      metrics: [{ name: 'perplexity', value: 3 }], primary: { name: 'perplexity', value: 3, stderr: null }, layerStats: [], samples: [],
      kvBytesPerToken: 50, fp16BytesPerToken: 640, ratioToFp16: 50 / 640, peakRssBytes: 1, tokensPerSecond: 10, wallSeconds: 1,
      providerUsed: 'cpu', device: 'cpu', versions: {}, modelArchitecture: 'llama', weightsHash: 'w', dataHash: 'd', benchmarkItems: 2, nonFinite: 0,
    });
    const again = await runsRoute.POST(req('POST', '/api/runs', { ...run, keyBits: 5 }));
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: r.run.id, status: 'succeeded', reused: true, result: { value: 3 } });
    const detail = await (await runRoute.GET(req('GET', '/x'), params({ id: r.run.hash }))).json();
    expect(detail.metrics).toEqual([{ name: 'perplexity', value: 3, stderr: null }]);
  });
});

describe('sweeps', () => {
  const spec = { name: 'api sweep', models: ['stories260k'], benchmarks: ['tinystories'], pairs: ['K4V2', 'K2V2', 'K16V16'], base: { limit: 2 } };

  it('previews without writing, creates once, reruns failed cells', async () => {
    const before = await countRuns(env.db.db);
    const p = await (await sweepsRoute.POST(req('POST', '/api/sweeps?preview=1', spec, { token: null }))).json();
    expect(p).toMatchObject({ preview: true, cells: 3, inProgress: 1, toRun: 2, alreadyDone: 0 }); // K4V2 queued above
    expect(p.models[0]).toMatchObject({ model: 'stories260k', deviceClass: 'cpu' });
    expect(p.estimatedSeconds).toBeGreaterThan(0);
    expect(await countRuns(env.db.db)).toBe(before);
    expect((await sweepsRoute.POST(req('POST', '/api/sweeps', spec, { token: null }))).status).toBe(401);
    const created = await sweepsRoute.POST(req('POST', '/api/sweeps', spec));
    expect(created.status).toBe(201);
    const c = await created.json();
    expect(c).toMatchObject({ cells: 3, newRuns: 2 });
    const again = await sweepsRoute.POST(req('POST', '/api/sweeps', spec));
    expect(again.status).toBe(200);
    expect((await again.json()).id).toBe(c.id);
    const view = await (await sweepRoute.GET(req('GET', '/x'), params({ id: c.id }))).json();
    expect(view.cells.map((x: { keyBits: number; valueBits: number }) => `K${x.keyBits}V${x.valueBits}`)).toEqual(['K4V2', 'K2V2', 'K16V16']);
    // fail one cell, then rerun-failed re-queues exactly that row
    const target = view.cells[1];
    await runRoute.DELETE(req('DELETE', '/x'), params({ id: target.id }));
    const rr = await (await rerunRoute.POST(req('POST', '/x'), params({ id: c.id }))).json();
    expect(rr).toMatchObject({ requeued: 1, runs: [{ id: target.id, status: 'queued' }] });
    expect(await env.queues.queue('cpu').getJob(target.hash)).toBeTruthy();
    expect((await sweepRoute.GET(req('GET', '/x'), params({ id: '00000000-0000-0000-0000-000000000000' }))).status).toBe(404);
  });

  it('names the field of a bad sweep', async () => {
    const res = await sweepsRoute.POST(req('POST', '/api/sweeps', { ...spec, models: ['stories260k', '<b>nope</b>'] }));
    expect(res.status).toBe(400);
    expect((await res.json()).issues[0]).toMatchObject({ field: 'models' });
  });
});

describe('reads', () => {
  it('leaderboard filters, sorts and pages; bad params name the field', async () => {
    const b = await (await boardRoute.GET(req('GET', '/api/leaderboard?model=stories260k&bits=K5V2&sort=score&page=1&pageSize=10&metrics=1'))).json();
    expect(b).toMatchObject({ total: 1, page: 1, pageSize: 10 });
    expect(b.rows[0]).toMatchObject({ keyBits: 5, valueBits: 2, value: 3, metric: 'perplexity', kvBytesPerToken: 50 });
    expect((await (await boardRoute.GET(req('GET', '/api/leaderboard?backend=hqq'))).json()).total).toBe(0);
    for (const [q, field] of [['sort=evil', 'sort'], ['bits=K4', 'bits'], ['pageSize=100000', 'pageSize'], ['backend=x', 'backend']]) {
      const res = await boardRoute.GET(req('GET', `/api/leaderboard?${q}`));
      expect(res.status).toBe(400);
      expect((await res.json()).issues[0].field).toBe(field);
    }
  });

  it('reports queue depths per device class (KEDA reads backlog)', async () => {
    const q = await (await queueRoute.GET(req('GET', '/api/queues/cpu'), params({ name: 'cpu' }))).json();
    expect(q).toMatchObject({ queue: 'cpu', prefix: env.prefix });
    expect(q.backlog).toBe(q.counts.waiting + q.counts.prioritized + q.counts.active);
    expect(q.backlog).toBeGreaterThan(0);
    expect((await queueRoute.GET(req('GET', '/api/queues/tpu'), params({ name: 'tpu' }))).status).toBe(404);
    const all = await (await queuesRoute.GET()).json();
    expect(all.queues.map((x: { queue: string }) => x.queue)).toEqual(['cpu', 'gpu-24g', 'gpu-80g', 'gpu-141g']);
  });

  it('health, metrics and events answer', async () => {
    const h = await healthRoute.GET();
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true, checks: { database: { ok: true }, redis: { ok: true } } });
    const m = await (await metricsRoute.GET()).text();
    expect(m).toMatch(/kvbench_queue_jobs\{queue="cpu",state="waiting"\} \d+/);
    expect(m).toMatch(/kvbench_runs\{status="succeeded"\} 1/);
    expect(m).toMatch(/kvbench_run_duration_seconds_count 1/);
    const ac = new AbortController();
    const res = await eventsRoute.GET(new Request('http://localhost/api/events', { signal: ac.signal }));
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: snapshot\ndata: \{"counts":/);
    ac.abort();
    await reader.cancel();
  });
});
