// Small helpers shared by the route handlers: JSON responses, body limits, the write token.
import { timingSafeEqual } from 'node:crypto';
import { ValidationError, type FieldError } from '@kvbench/protocol';

export const MAX_BODY_BYTES = 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: FieldError[],
  ) {
    super(message);
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}

/** Maps thrown errors to responses: 400 with fields for validation, the HttpError's status, else 500. */
export function errorResponse(err: unknown): Response {
  if (err instanceof ValidationError) return json({ error: 'invalid input', issues: err.issues }, 400);
  if (err instanceof HttpError) return json({ error: err.message, ...(err.issues ? { issues: err.issues } : {}) }, err.status);
  console.error('api: unexpected error', err);
  return json({ error: 'internal error', detail: err instanceof Error ? err.message : String(err) }, 500);
}

/** Wraps a handler so that any throw becomes a clean JSON error. */
export function handle<A extends unknown[]>(fn: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

/** Reads a JSON body of at most `limit` bytes: 413 beyond it (checked while streaming, not after). */
export async function readJson(request: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `request body over ${limit} bytes`);
  if (!request.body) throw new ValidationError([{ field: '', message: 'a JSON body is required' }]);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, `request body over ${limit} bytes`);
    }
    chunks.push(value);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new ValidationError([{ field: '', message: 'a JSON body is required' }]);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError([{ field: '', message: `malformed JSON: ${(err as Error).message}` }]);
  }
}

/** Writes need `Authorization: Bearer <KVBENCH_API_TOKEN>`; with no token configured, writes are refused. */
export function requireWriteToken(request: Request, token = process.env.KVBENCH_API_TOKEN): void {
  if (!token) throw new HttpError(503, 'writes are disabled: the server has no KVBENCH_API_TOKEN set');
  const header = request.headers.get('authorization') ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  const given = Buffer.from(m?.[1] ?? '');
  const want = Buffer.from(token);
  if (!m || given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new HttpError(401, 'missing or wrong API token: send Authorization: Bearer <KVBENCH_API_TOKEN>');
  }
}

export function intParam(params: URLSearchParams, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw new ValidationError([{ field: name, message: `got ${JSON.stringify(raw)}, expected an integer${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}` }]);
  }
  return n;
}
