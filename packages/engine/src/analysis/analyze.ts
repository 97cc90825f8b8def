// analyze(): runAnalysis in a worker thread, so a caller's event loop (the inference worker renewing its
// BullMQ lock) stays free during the float64 forward passes and SVDs. The analysis is pure JavaScript
// (no native calls), so an abort may terminate the thread at once.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AnalyzeThreadMessage } from './analyze-thread';
import type { AnalyzeOptions, AnalyzeProgress, AnalyzeResult } from './run-analysis';

export interface AnalyzeControls {
  signal?: AbortSignal;
  onProgress?: (p: AnalyzeProgress) => void;
  /** false: run in the calling thread (the CLI, tests). Default true. */
  inThread?: boolean;
}

function startThread(options: AnalyzeOptions): Worker {
  // Same bootstrap as evaluate(): register tsx's ESM hooks in the thread, then import the TS entry.
  const require = createRequire(import.meta.url);
  const tsxApi = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL('./analyze-thread.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: options });
}

function abortError(signal: AbortSignal): DOMException {
  const error = new DOMException('The analysis was aborted', 'AbortError');
  if (signal.reason !== undefined) (error as { cause?: unknown }).cause = signal.reason;
  return error;
}

export async function analyze(options: AnalyzeOptions, controls: AnalyzeControls = {}): Promise<AnalyzeResult> {
  const { signal, onProgress } = controls;
  if (signal?.aborted) throw abortError(signal);
  if (controls.inThread === false) {
    const { runAnalysis } = await import('./run-analysis');
    return runAnalysis(options, onProgress);
  }
  const worker = startThread(options);
  return new Promise<AnalyzeResult>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      f();
    };
    const onAbort = () => finish(() => reject(abortError(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: AnalyzeThreadMessage) => {
      if (m.type === 'progress') {
        if (!settled) onProgress?.(m.progress);
      } else if (m.type === 'result') {
        finish(() => resolve(m.result));
      } else {
        const error = new Error(m.message);
        error.name = m.name;
        if (m.stack) error.stack = m.stack;
        finish(() => reject(error));
      }
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) => finish(() => reject(new Error(`analysis thread exited with code ${code} before finishing`))));
  });
}
