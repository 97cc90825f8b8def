// The same route handlers served by plain node:http, without Next.js: used by tests (the CLI's and the
// API's over-HTTP tests) and by the orchestrator benchmark to measure the API without Next's overhead.
// The production server is Next.js (app/api/**); both call the very same handler functions.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as events from '../app/api/events/route';
import * as health from '../app/api/health/route';
import * as board from '../app/api/leaderboard/route';
import * as runs from '../app/api/runs/route';
import * as run from '../app/api/runs/[id]/route';
import * as sweeps from '../app/api/sweeps/route';
import * as sweep from '../app/api/sweeps/[id]/route';
import * as rerun from '../app/api/sweeps/[id]/rerun-failed/route';
import * as keyFirst from '../app/api/sweeps/[id]/key-first/route';
import * as metrics from '../app/metrics/route';
import * as queueOne from '../app/api/queues/[name]/route';
import * as queueAll from '../app/api/queues/route';

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
type RouteModule = Partial<Record<'GET' | 'POST' | 'DELETE', unknown>>;

const ROUTES: [RegExp, string[], RouteModule][] = [
  [/^\/api\/runs$/, [], runs],
  [/^\/api\/runs\/([^/]+)$/, ['id'], run],
  [/^\/api\/sweeps$/, [], sweeps],
  [/^\/api\/sweeps\/([^/]+)\/rerun-failed$/, ['id'], rerun],
  [/^\/api\/sweeps\/([^/]+)\/key-first$/, ['id'], keyFirst],
  [/^\/api\/sweeps\/([^/]+)$/, ['id'], sweep],
  [/^\/api\/leaderboard$/, [], board],
  [/^\/api\/events$/, [], events],
  [/^\/api\/health$/, [], health],
  [/^\/api\/queues$/, [], queueAll],
  [/^\/api\/queues\/([^/]+)$/, ['name'], queueOne],
  [/^\/metrics$/, [], metrics],
];

async function dispatch(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  for (const [re, names, mod] of ROUTES) {
    const m = re.exec(pathname);
    if (!m) continue;
    const fn = mod[req.method as 'GET'] as Handler | undefined;
    if (!fn) return new Response(JSON.stringify({ error: `method ${req.method} not allowed` }), { status: 405 });
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    return fn(req, { params: Promise.resolve(params) });
  }
  return new Response(JSON.stringify({ error: 'not found' }), { status: 404, headers: { 'content-type': 'application/json' } });
}

export async function startApiServer(port = 0, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (nreq, nres) => {
    const ac = new AbortController();
    nres.on('close', () => ac.abort());
    const hasBody = nreq.method !== 'GET' && nreq.method !== 'HEAD';
    const headers = new Headers();
    for (const [k, v] of Object.entries(nreq.headers)) if (typeof v === 'string') headers.set(k, v);
    const req = new Request(`http://${nreq.headers.host ?? 'localhost'}${nreq.url}`, {
      method: nreq.method,
      headers,
      body: hasBody ? (ReadableStreamFromNode(nreq) as BodyInit) : undefined,
      signal: ac.signal,
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
    try {
      const res = await dispatch(req);
      const outHeaders: Record<string, string> = {};
      res.headers.forEach((value, key) => (outHeaders[key] = value));
      nres.writeHead(res.status, outHeaders);
      if (!res.body) return nres.end();
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        nres.write(value);
      }
      nres.end();
    } catch (err) {
      if (!nres.headersSent) nres.writeHead(500, { 'content-type': 'application/json' });
      nres.end(JSON.stringify({ error: (err as Error).message }));
    }
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function ReadableStreamFromNode(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream({
    start(controller) {
      req.on('data', (c: Buffer) => {
        if (!cancelled) controller.enqueue(new Uint8Array(c));
      });
      req.on('end', () => !cancelled && controller.close());
      req.on('error', (e) => !cancelled && controller.error(e));
    },
    cancel() {
      // Drain the rest (a too-large body) so that the 413 response still reaches the client.
      cancelled = true;
      req.resume();
    },
  });
}
