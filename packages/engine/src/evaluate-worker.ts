// Worker-thread entry of evaluate(): runs one evaluation and posts progress, then the result or the error.
import { parentPort, workerData } from 'node:worker_threads';
import { runEvaluation } from './protocols/run-evaluation';
import type { WorkerMessage, WorkerRequest } from './evaluate-worker-protocol';
import { serializeError } from './host/thread-errors';

const port = parentPort;
if (!port) throw new Error('evaluate-worker.ts must run as a worker thread (see evaluate.ts)');
const post = (message: WorkerMessage) => port.postMessage(message);
const { options, internal, abortFlag } = workerData as WorkerRequest;

// The thread ends by itself once this settles (nothing left on its event loop): evaluate() never
// terminates it while an ONNX Runtime call may be in flight.
runEvaluation(options, internal, (progress) => post({ type: 'progress', progress }), () => Atomics.load(abortFlag, 0) === 1).then(
  (result) => post({ type: 'result', result }),
  (error: unknown) => post({ type: 'error', error: serializeError(error) }),
);
