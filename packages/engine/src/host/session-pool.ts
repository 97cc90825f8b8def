// Decoder sessions kept open between jobs, keyed by (model, cache policy, provider, session options).
// Every ORT session holds its own copy of the weights (on the GPU, in device memory), so the pool bounds
// the sessions alive at once, lent and idle together: the default 2 is what one job holds anyway (the
// quantized and the full-precision session), so keeping sessions costs no memory at the peak. Within a
// sweep the full-precision session is the same for every cell of a model and is reused every time.
import type { DecoderSession } from '../session';
import type { ThreadCounters } from './host-protocol';
import { LeasedSession } from './leased-session';

interface IdleSession {
  modelKey: string;
  key: string;
  session: DecoderSession;
}

export class SessionPool {
  /** Least recently returned first. */
  private idle: IdleSession[] = [];
  private lent = 0;

  constructor(
    private readonly maxSessions: number,
    private readonly counters: ThreadCounters,
  ) {}

  /** A cleared session for (modelKey, key): an idle one, else a new one from `create`. */
  async lease(modelKey: string, key: string, create: () => Promise<DecoderSession>): Promise<DecoderSession> {
    const at = this.idle.findLastIndex((s) => s.modelKey === modelKey && s.key === key);
    let session: DecoderSession;
    if (at >= 0) {
      session = this.idle.splice(at, 1)[0].session;
      this.counters.sessionReuses++;
    } else {
      // Make room first, so the new session never coexists with one over the bound.
      while (this.idle.length > 0 && this.lent + this.idle.length + 1 > this.maxSessions) await this.disposeIdle(this.idle[0]);
      session = await create();
      this.counters.sessionCreates++;
    }
    this.lent++;
    return new LeasedSession(session, (s) => {
      this.lent--;
      this.idle.push({ modelKey, key, session: s });
    });
  }

  /** Closes idle sessions beyond the bound (after a job). */
  async trim(): Promise<void> {
    while (this.idle.length > 0 && this.lent + this.idle.length > this.maxSessions) await this.disposeIdle(this.idle[0]);
  }

  /** Closes the idle sessions of one model (evicted), or of all models. */
  async clear(modelKey?: string): Promise<void> {
    for (const s of [...this.idle]) if (modelKey === undefined || s.modelKey === modelKey) await this.disposeIdle(s);
  }

  get size(): number {
    return this.lent + this.idle.length;
  }

  private async disposeIdle(entry: IdleSession): Promise<void> {
    this.idle.splice(this.idle.indexOf(entry), 1);
    this.counters.sessionDisposals++;
    await entry.session.dispose();
  }
}

/** Key of everything a session depends on besides the model: JSON with sorted object keys. */
export function sessionKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
