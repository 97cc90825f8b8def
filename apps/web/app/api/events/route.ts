import { getRun, getSweep, listRuns, runStatusCounts } from '@kvbench/db';
import { eventHub, type QueueEvent } from '../../../lib/events';
import { handle } from '../../../lib/http';
import { runJson } from '../../../lib/runs';
import { getServices } from '../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * Server-sent events: a `snapshot` from the database first (counts and running runs), then `run`
 * events relayed from the queues (waiting, active, progress, completed, failed, ...). ?run=<id> or
 * ?sweep=<id> narrows the stream to those runs. A comment every 15 s keeps proxies from closing it.
 */
export const GET = handle(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const s = await getServices();
  let hashes: Set<string> | null = null;
  if (params.get('run')) {
    const run = await getRun(s.db, params.get('run')!);
    hashes = new Set(run ? [run.hash] : []);
  } else if (params.get('sweep')) {
    const sweep = await getSweep(s.db, params.get('sweep')!);
    hashes = new Set(sweep ? sweep.cells.map((c) => c.hash) : []);
  }
  const [counts, running] = await Promise.all([runStatusCounts(s.db), listRuns(s.db, { status: 'running', limit: 200 })]);
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => {
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          cleanup();
        }
      };
      send('snapshot', { counts, running: running.filter((r) => !hashes || hashes.has(r.hash)).map(runJson) });
      const unsubscribe = eventHub().subscribe((e: QueueEvent) => {
        if (!hashes || hashes.has(e.hash)) send('run', e);
      });
      const heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(`: ping\n\n`));
        } catch {
          cleanup();
        }
      }, 15_000);
      cleanup = () => {
        clearInterval(heartbeat);
        unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      request.signal.addEventListener('abort', () => cleanup());
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' } });
});
