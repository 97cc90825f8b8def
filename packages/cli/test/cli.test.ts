// The CLI against the real route handlers served over HTTP (node:http), real Postgres and Redis, and
// an in-process worker running the real engine on stories260K.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../src/main';
import { useCliStack } from './http-stack';

const { stack, cli } = useCliStack();

const runFlags = ['--model', 'stories260k', '--benchmark', 'tinystories', '--group-size', '8', '--residual', '16', '--prompt', '16', '--max-tokens', '40', '--limit', '2'];

describe('kvbench CLI over HTTP', () => {
  it('submits, waits with progress, and shows the run', async () => {
    const r = await cli('submit', ...runFlags, '--bits', 'K4V2', '--wait');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^run [0-9a-f-]{36} queued {2}hash [0-9a-f]{12} {2}device class cpu/);
    expect(r.out).toMatch(/K4V2 stories260k tinystories {2}succeeded {2}perplexity = \d/);
    const id = /^run ([0-9a-f-]{36})/.exec(r.out)![1];
    const again = await cli('submit', ...runFlags, '--bits', 'K4V2');
    expect(again.out).toMatch(/already done \(reused\)/);
    const s = await cli('status', id);
    expect(s.out).toMatch(/succeeded/);
    expect(s.out).toMatch(/perplexity/);
    const list = await cli('status', '--status', 'succeeded');
    expect(list.out).toContain(id);
  });

  it('previews and runs a sweep, then shows the leaderboard and exports it', async () => {
    const sweepFlags = ['--models', 'stories260k', '--benchmarks', 'tinystories', '--pairs', 'K4V2,K2V4,K16V16', '--group-sizes', '8', '--residuals', '16', '--prompt', '16', '--max-tokens', '40', '--limit', '2'];
    const p = await cli('sweep', ...sweepFlags, '--preview');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/^3 cells \(1 already done, 0 queued or running, 2 to run/);
    expect(p.out).toMatch(/stories260k\s+cpu\s+3/);
    const s = await cli('sweep', ...sweepFlags, '--name', 'cli', '--wait');
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/sweep [0-9a-f-]{36} created: 3 cells, 2 new runs \(1 already done\)/);
    expect(s.out).toMatch(/100% 3\/3 cells {2}\(3 ok/);
    const board = await cli('leaderboard', '--model', 'stories260k', '--sort', 'kvBytesPerToken', '--order', 'asc');
    expect(board.out.split('\n')[0]).toMatch(/^model\s+benchmark\s+bits\s+backend/);
    expect(board.out).toMatch(/K2V4/);
    expect(board.out).toMatch(/page 1\/1, 3 row\(s\)/);
    const json = JSON.parse((await cli('leaderboard', '--json', '--bits', 'K16V16')).out);
    expect(json.rows).toHaveLength(1);
    expect(json.rows[0]).toMatchObject({ keyBits: 16, valueBits: 16, backend: null, metric: 'perplexity' });
    expect(json.rows[0].metrics.perplexity.value).toBe(json.rows[0].value);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kvbench-cli-'));
    const e = await cli('export', '--format', 'csv', '--out', path.join(dir, 'board.csv'));
    expect(e.err).toMatch(/wrote 3 row\(s\)/);
    const text = readFileSync(path.join(dir, 'board.csv'), 'utf8').trim().split('\n');
    expect(text).toHaveLength(4);
    expect(text[0]).toMatch(/^id,hash,model,benchmark,protocol,keyBits,valueBits,.*,kl,kl_stderr,/);
    await cli('export', '--out', path.join(dir, 'board.json'));
    expect(JSON.parse(readFileSync(path.join(dir, 'board.json'), 'utf8'))).toHaveLength(3);
  });

  it('reports errors with the field named and a nonzero exit code', async () => {
    const bad = await cli('submit', ...runFlags, '--bits', 'K9V2');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/HTTP 400: invalid input\n {2}keyBits: got 9/);
    const usage = await cli('submit', '--bits', 'K4V2x');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--bits: got "K4V2x"/);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    const missing = await cli('status', '00000000-0000-0000-0000-000000000000');
    expect(missing.err).toMatch(/HTTP 404/);
    const noToken = await main(['--api', stack.server.url, 'cancel', '00000000-0000-0000-0000-000000000000'], { out: () => {}, err: () => {}, tty: false });
    expect(noToken).toBe(1);
  });

  it('cancels a run', async () => {
    const r = await cli('submit', ...runFlags.slice(0, -2), '--limit', '100', '--bits', 'K3V3', '--json');
    const { id } = JSON.parse(r.out);
    const c = await cli('cancel', id);
    expect(c.out).toMatch(/: (queued|running|cancelled) \((removed|signalled|absent)\)/);
    const final = await cli('status', id, '--watch');
    expect({ out: final.out, err: final.err, cancel: c.out }).toMatchObject({ out: expect.stringMatching(/K3V3 stories260k tinystories {2}cancelled$/) });
    expect(final.code).toBe(1);
  });

  it('streams live progress over SSE (GET /api/events?run=)', async () => {
    // subscribe first (the whole stream), then submit, so no event can pass before we listen
    const res = await fetch(`${stack.server.url}/api/events`);
    const r = await cli('submit', ...runFlags.slice(0, -2), '--limit', '4', '--bits', 'K5V3', '--json');
    const { id, hash } = JSON.parse(r.out);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events: { event: string; data: any }[] = [];
    while (!events.some((e) => e.data?.type === 'completed' && e.data.hash === hash)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
      let i: number;
      while ((i = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, i);
        text = text.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
      }
    }
    await reader.cancel();
    expect(events[0].event).toBe('snapshot');
    const mine = events.filter((e) => e.event === 'run' && e.data.hash === hash).map((e) => e.data);
    expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['waiting', 'active', 'progress', 'completed']));
    expect(mine.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ data: { runId: id, itemsDone: 4, itemsTotal: 4 } });
    // ?run= narrows the stream to one run, starting from a snapshot of the database
    const one = await fetch(`${stack.server.url}/api/events?run=${id}`);
    const first = new TextDecoder().decode((await one.body!.getReader().read()).value);
    expect(first).toMatch(/^event: snapshot\n/);
    await one.body!.cancel().catch(() => {});
  });

  it('runs through the bin launcher', async () => {
    const bin = path.resolve(import.meta.dirname, '../bin/kvbench.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [bin, '--api', stack.server.url, 'leaderboard', '--bits', 'K4V2'], { env: { ...process.env } });
    expect(stdout).toMatch(/K4V2/);
  });
});
