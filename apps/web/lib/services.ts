// Process-wide handles for the route handlers: the database and the queue producer, created once
// (kept on globalThis, so Next.js dev reloads and the start script share them).
import { getDb, type Db } from '@kvbench/db';
import { RunQueues } from '@kvbench/inference-worker/queue';

export interface Services {
  db: Db;
  queues: RunQueues;
}

const KEY = Symbol.for('kvbench.queues');
type G = typeof globalThis & { [KEY]?: RunQueues };

export function getQueues(): RunQueues {
  const g = globalThis as G;
  g[KEY] ??= new RunQueues();
  return g[KEY]!;
}

export function setQueues(q: RunQueues): void {
  (globalThis as G)[KEY] = q;
}

export async function getServices(): Promise<Services> {
  return { db: (await getDb()).db, queues: getQueues() };
}
