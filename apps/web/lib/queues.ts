// Queue depths per device class: the admin view and KEDA's metrics-api trigger (docs/deploy.md).
import { DEVICE_CLASSES, deviceClass, type DeviceClassName } from '@kvbench/protocol';
import { HttpError } from './http';
import type { Services } from './services';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'paused', 'completed', 'failed'] as const;

export async function queueDepth(s: Services, name: string) {
  if (!deviceClass(name)) throw new HttpError(404, `no device class ${JSON.stringify(name)}; known: ${DEVICE_CLASSES.map((d) => d.name).join(', ')}`);
  let counts: Record<string, number>;
  try {
    counts = await s.queues.queue(name as DeviceClassName).getJobCounts(...STATES);
  } catch (err) {
    throw new HttpError(503, `queue unreachable: ${(err as Error).message}`);
  }
  // Running jobs count, so the autoscaler never wants fewer workers than jobs in flight.
  const backlog = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.active ?? 0);
  return { queue: name, prefix: s.queues.prefix, counts, backlog };
}

export async function allQueueDepths(s: Services) {
  return { queues: await Promise.all(DEVICE_CLASSES.map((d) => queueDepth(s, d.name))) };
}
