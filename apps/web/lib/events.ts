// Live progress for the dashboard and the CLI: one QueueEvents per device-class queue per server process
// (a globalThis singleton), fanned out to every SSE client. QueueEvents is best-effort (a trimmed
// stream), so each stream starts with a snapshot from Postgres, the truth.
import { QueueEvents } from 'bullmq';
import { DEVICE_CLASSES, queuePrefix } from '@kvbench/protocol';
import { redisConnection } from '@kvbench/inference-worker/queue';

export interface QueueEvent {
  type: 'waiting' | 'active' | 'progress' | 'completed' | 'failed' | 'stalled' | 'removed';
  queue: string;
  /** the job id = the run's config hash */
  hash: string;
  data?: unknown;
}

type Listener = (e: QueueEvent) => void;

class EventHub {
  private listeners = new Set<Listener>();
  private events: QueueEvents[] = [];
  private started = false;

  subscribe(fn: Listener): () => void {
    this.start();
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: QueueEvent) {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // a broken client must not break the others
      }
    }
  }

  private start() {
    if (this.started) return;
    this.started = true;
    const prefix = queuePrefix();
    // Read the event streams from (a second before) the moment the hub starts rather than from '$':
    // QueueEvents' first XREAD happens some time after construction, and a fast job's waiting/active
    // events would fall into that gap for the first subscriber. Replaying a second of events is harmless.
    const lastEventId = `${Date.now() - 1000}-0`;
    for (const d of DEVICE_CLASSES) {
      const qe = new QueueEvents(d.name, { connection: redisConnection('worker'), prefix, lastEventId });
      qe.on('error', () => {});
      const queue = d.name;
      qe.on('waiting', ({ jobId }) => this.emit({ type: 'waiting', queue, hash: jobId }));
      qe.on('active', ({ jobId }) => this.emit({ type: 'active', queue, hash: jobId }));
      qe.on('progress', ({ jobId, data }) => this.emit({ type: 'progress', queue, hash: jobId, data }));
      qe.on('completed', ({ jobId }) => this.emit({ type: 'completed', queue, hash: jobId }));
      qe.on('failed', ({ jobId, failedReason }) => this.emit({ type: 'failed', queue, hash: jobId, data: { failedReason } }));
      qe.on('stalled', ({ jobId }) => this.emit({ type: 'stalled', queue, hash: jobId }));
      qe.on('removed', ({ jobId }) => this.emit({ type: 'removed', queue, hash: jobId }));
      this.events.push(qe);
    }
  }

  async close() {
    await Promise.all(this.events.map((e) => e.close()));
    this.events = [];
    this.started = false;
  }
}

const KEY = Symbol.for('kvbench.eventhub');
type G = typeof globalThis & { [KEY]?: EventHub };

export function eventHub(): EventHub {
  const g = globalThis as G;
  g[KEY] ??= new EventHub();
  return g[KEY]!;
}
