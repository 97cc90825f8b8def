// The stack the CLI's HTTP tests run against: the real route handlers served over node:http, real
// Postgres and Redis, and an in-process worker running the real engine. `cli()` runs `kvbench` with
// the stack's URL and token and collects what it prints.
import { afterAll, beforeAll } from 'vitest';
import { startInferenceWorker, type InferenceWorker } from '@kvbench/inference-worker';
import { startApiServer } from '../../../apps/web/lib/node-server';
import { setupApi, TOKEN } from '../../../apps/web/test/helpers';
import { main } from '../src/main';

export interface CliStack {
  env: Awaited<ReturnType<typeof setupApi>>;
  server: Awaited<ReturnType<typeof startApiServer>>;
  worker: InferenceWorker;
}

/** Registers the stack's set-up and tear-down for the calling test file; fields are set in beforeAll. */
export function useCliStack() {
  const stack = {} as CliStack;
  beforeAll(async () => {
    stack.env = await setupApi();
    stack.server = await startApiServer();
    stack.worker = await startInferenceWorker({ db: stack.env.db.db, deviceClass: 'cpu', prefix: stack.env.prefix, reconcileIntervalMs: 0, progressIntervalMs: 0, log: () => {} });
  });
  afterAll(async () => {
    await stack.worker?.drain();
    await stack.server?.close();
    await stack.env?.close();
  });
  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['--api', stack.server.url, '--token', TOKEN, ...argv], { out: (t) => out.push(t), err: (t) => err.push(t), tty: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  return { stack, cli };
}
