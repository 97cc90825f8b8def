// The worker process: `tsx workers/inference/src/main.ts [--class cpu] [--concurrency 1]`.
// Env: DATABASE_URL, REDIS_URL, KVBENCH_DEVICE_CLASS, KVBENCH_WORKER_CONCURRENCY, KVBENCH_QUEUE_PREFIX,
// KVBENCH_MODELS_DIR, KVBENCH_SIMULATE_PROVIDER, KVBENCH_LOCK_MS, KVBENCH_STALLED_MS, KVBENCH_MAX_STALLED, KVBENCH_RECONCILE_MS, KVBENCH_PROGRESS_MS,
// KVBENCH_MAX_MODELS (models kept loaded per evaluation thread, default 1; 0: a fresh thread per job),
// KVBENCH_KV_ROWS (cache rows of WebGPU runs: auto, exact, reserve; evaluation-hosts.ts routeForRows).
// SIGTERM drains (the current job finishes, nothing new starts); a second SIGTERM or SIGINT releases
// the current job back to the queue and exits.
import { parseArgs } from 'node:util';
import { openDb } from '@kvbench/db';
import { PROVIDERS, QUEUE_NAMES, type DeviceClassName, type Provider } from '@kvbench/protocol';
import { cacheRowsSetting, type CacheRowsSetting } from './eval-options';
import { startInferenceWorker } from './worker';

const { values } = parseArgs({
  options: {
    class: { type: 'string', default: process.env.KVBENCH_DEVICE_CLASS ?? 'cpu' },
    concurrency: { type: 'string', default: process.env.KVBENCH_WORKER_CONCURRENCY ?? '1' },
    // Simulation only (scripts/fleet-sim.ts): serve --class's queue but run on this provider.
    'simulate-provider': { type: 'string', default: process.env.KVBENCH_SIMULATE_PROVIDER },
  },
});
const deviceClass = values.class as DeviceClassName;
if (!QUEUE_NAMES.includes(deviceClass)) {
  console.error(`--class: got ${JSON.stringify(values.class)}, allowed: ${QUEUE_NAMES.join(', ')}`);
  process.exit(2);
}
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`--concurrency: got ${JSON.stringify(values.concurrency)}, allowed: an integer >= 1`);
  process.exit(2);
}

const providerOverride = values['simulate-provider'] as Provider | undefined;
if (providerOverride !== undefined && !PROVIDERS.includes(providerOverride)) {
  console.error(`--simulate-provider: got ${JSON.stringify(providerOverride)}, allowed: ${PROVIDERS.join(', ')}`);
  process.exit(2);
}

let kvRows: CacheRowsSetting;
try {
  kvRows = cacheRowsSetting(process.env); // a bad KVBENCH_KV_ROWS fails here, not in every job
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const handle = await openDb({ poolMax: Math.max(4, concurrency * 2) });

// Signal handlers go in before the worker can take a job, so a SIGTERM that lands while it is
// starting still drains instead of killing the process mid-job.
let stopping = 0;
let started: (() => void) | undefined;
const ready = new Promise<void>((resolve) => (started = resolve));
const stop = async (signal: string) => {
  stopping++;
  await ready;
  if (stopping === 1 && signal === 'SIGTERM') {
    console.log('SIGTERM: draining (the current job finishes; send SIGTERM again to release it)');
    await w.drain();
  } else {
    console.log(`${signal}: releasing the current job back to the queue`);
    await w.release();
  }
  await handle.close().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

const w = await startInferenceWorker({
  db: handle.db,
  deviceClass,
  concurrency,
  lockDurationMs: Number(process.env.KVBENCH_LOCK_MS ?? 30_000),
  stalledIntervalMs: Number(process.env.KVBENCH_STALLED_MS ?? 30_000),
  maxStalledCount: Number(process.env.KVBENCH_MAX_STALLED ?? 2),
  reconcileIntervalMs: Number(process.env.KVBENCH_RECONCILE_MS ?? 30_000),
  progressIntervalMs: Number(process.env.KVBENCH_PROGRESS_MS ?? 1000),
  evaluationHost: process.env.KVBENCH_MAX_MODELS === '0' ? false : { maxModels: Number(process.env.KVBENCH_MAX_MODELS ?? 1) },
  kvRows,
  providerOverride,
});
console.log(`worker ready: ${w.workerId} (db ${handle.kind} ${handle.location})`);
started!();
