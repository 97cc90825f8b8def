// Starts a worker thread on a TypeScript entry of the engine. The thread first registers tsx's ESM hooks
// and then imports the entry; `--import tsx` in execArgv is not enough on Node 20 (the entry is resolved
// before the hooks are ready). tsx is located from this file, so it works whatever the caller's cwd,
// under tsx, vitest or plain node with a loader.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startEngineThread(entry: URL, workerData?: unknown): Worker {
  const require = createRequire(import.meta.url);
  const tsxApi = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
