// Browser calls to the REST API: JSON in, JSON out, the write token as a bearer header.
import type { FieldIssue } from './submit/types';

export interface ApiResult<T> {
  ok: boolean;
  status: number;
  body: T & { error?: string; issues?: FieldIssue[] };
}

export async function callApi<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string | null): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let parsed: unknown = {};
  try {
    parsed = await res.json();
  } catch {
    parsed = { error: `HTTP ${res.status}` };
  }
  return { ok: res.ok, status: res.status, body: parsed as ApiResult<T>['body'] };
}

/** The message to show for a failed write; 401/503 name the token problem. */
export function writeError(r: ApiResult<unknown>): string {
  if (r.status === 401) return 'The server refused the API token (missing or wrong). Enter it again.';
  if (r.status === 503) return r.body.error ?? 'Writes are disabled on this server.';
  return r.body.error ?? `HTTP ${r.status}`;
}
