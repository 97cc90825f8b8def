// Worker-thread entry of analyze(): runs one analysis and posts progress, then the result or the error.
import { parentPort, workerData } from 'node:worker_threads';
import { runAnalysis, type AnalyzeOptions, type AnalyzeProgress, type AnalyzeResult } from './run-analysis';

export type AnalyzeThreadMessage =
  | { type: 'progress'; progress: AnalyzeProgress }
  | { type: 'result'; result: AnalyzeResult }
  | { type: 'error'; name: string; message: string; stack?: string };

const port = parentPort;
if (!port) throw new Error('analyze-thread.ts must run as a worker thread (see analyze.ts)');
const post = (message: AnalyzeThreadMessage) => port.postMessage(message);

runAnalysis(workerData as AnalyzeOptions, (progress) => post({ type: 'progress', progress })).then(
  (result) => post({ type: 'result', result }),
  (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', name: e.name, message: e.message, stack: e.stack });
  },
);
