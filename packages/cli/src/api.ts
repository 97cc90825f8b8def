// A small client for the kvbench HTTP API.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FLAG_OF_RUN_FIELD } from './run-flags';

export const DEFAULT_API_URL = 'http://localhost:3000';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; issues?: { field: string; message: string }[] } | null,
  ) {
    super(formatApiError(status, body));
  }
}

function formatApiError(status: number, body: ApiError['body']): string {
  const head = `HTTP ${status}${body?.error ? `: ${body.error}` : ''}`;
  const issues = body?.issues?.map((i) => `  ${i.field || '(body)'}: ${i.message}${flagHint(i.field)}`).join('\n');
  return issues ? `${head}\n${issues}` : head;
}

/** " [--budget]" for a run field a flag sets ("budget", "base.bitRange.2"), so a server error names the flag too. */
function flagHint(field: string | undefined): string {
  const head = (field ?? '').replace(/^base\./, '').split('.')[0];
  const flag = FLAG_OF_RUN_FIELD[head];
  return flag ? ` [${flag}]` : '';
}

/** The write token: KVBENCH_API_TOKEN, else the one `npm start` generated under $KVBENCH_DATA_DIR. */
export function resolveToken(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.KVBENCH_API_TOKEN) return env.KVBENCH_API_TOKEN;
  const file = path.join(path.resolve(env.KVBENCH_DATA_DIR || '.kvbench'), 'api-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string = process.env.KVBENCH_API_URL || DEFAULT_API_URL,
    readonly token: string | undefined = resolveToken(),
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new Error(`cannot reach the kvbench API at ${this.baseUrl} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); start it with \`npm start\` or pass --api URL`);
    }
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { error: text.slice(0, 200) };
    }
    if (!res.ok) {
      if (res.status === 401 && !this.token) throw new ApiError(401, { error: 'this needs a write token: set KVBENCH_API_TOKEN (or pass --token)' });
      throw new ApiError(res.status, data as ApiError['body']);
    }
    return { status: res.status, data: data as T };
  }

  get<T>(path: string) {
    return this.request<T>('GET', path).then((r) => r.data);
  }
}
