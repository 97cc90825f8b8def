// Test wiring: a fresh Postgres database, a unique queue prefix on the real Redis, and the route
// handlers called with real Request objects.
import { randomBytes } from 'node:crypto';
import { openTestPostgres, setDb, clearDb, type DbHandle } from '@kvbench/db';
import { RunQueues } from '@kvbench/inference-worker/queue';
import { eventHub } from '../lib/events';
import { setQueues } from '../lib/services';

export const TOKEN = 'test-token-' + randomBytes(4).toString('hex');

export async function setupApi(): Promise<{ db: DbHandle; queues: RunQueues; prefix: string; close(): Promise<void> }> {
  const prefix = `kvbt-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  process.env.KVBENCH_QUEUE_PREFIX = prefix;
  process.env.KVBENCH_API_TOKEN = TOKEN;
  const db = await openTestPostgres();
  setDb(db);
  const queues = new RunQueues({ prefix });
  setQueues(queues);
  return {
    db,
    queues,
    prefix,
    async close() {
      // remove this run's keys from the shared Redis
      let cursor = '0';
      do {
        const [next, keys] = await queues.connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await queues.connection.del(...keys);
      } while (cursor !== '0');
      await eventHub().close();
      await queues.close();
      clearDb();
      await db.close();
    },
  };
}

export function req(method: string, path: string, body?: unknown, opts: { token?: string | null; raw?: string | Uint8Array } = {}): Request {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | Uint8Array | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Request(`http://localhost${path}`, { method, headers, body: payload as BodyInit | undefined });
}

export const params = <T extends Record<string, string>>(p: T) => ({ params: Promise.resolve(p) });
