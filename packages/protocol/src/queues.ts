// One BullMQ queue per device class: a worker cannot pick jobs by attribute, so routing happens at
// enqueue time (the memory planner picks the class) and each class's deployment consumes its own queue.

export interface DeviceClass {
  /** also the BullMQ queue name */
  name: 'cpu' | 'gpu-24g' | 'gpu-80g' | 'gpu-141g';
  kind: 'cpu' | 'gpu';
  /** memory a job may plan to use on this class */
  memoryBytes: number;
  examples: string;
}

const GiB = 1024 ** 3;

/** Ordered smallest first: the planner takes the first one that fits. */
export const DEVICE_CLASSES: readonly DeviceClass[] = [
  { name: 'cpu', kind: 'cpu', memoryBytes: 32 * GiB, examples: 'any host; ORT CPU provider' },
  { name: 'gpu-24g', kind: 'gpu', memoryBytes: 24 * GiB, examples: 'RTX 4090, L4, A10G' },
  { name: 'gpu-80g', kind: 'gpu', memoryBytes: 80 * GiB, examples: 'A100-80G, H100' },
  { name: 'gpu-141g', kind: 'gpu', memoryBytes: 141 * GiB, examples: 'H200' },
];

export type DeviceClassName = DeviceClass['name'];
export const QUEUE_NAMES = DEVICE_CLASSES.map((d) => d.name) as DeviceClassName[];

export function deviceClass(name: string): DeviceClass | undefined {
  return DEVICE_CLASSES.find((d) => d.name === name);
}

/** Redis key prefix for every kvbench queue (BullMQ's `prefix`); tests use a unique one per run. */
export const DEFAULT_QUEUE_PREFIX = 'kvbench';

export function queuePrefix(env: Record<string, string | undefined> = process.env): string {
  return env.KVBENCH_QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX;
}

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** Statuses after which a run never changes again unless re-queued explicitly. */
export const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** The payload of every job: just the run id; the worker loads the config from Postgres. */
export interface RunJobData {
  runId: string;
}
