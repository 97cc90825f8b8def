'use client';
// A queued or running run's progress over SSE; the page re-renders from the server when it finishes.
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { duration, num } from '../format';

interface Progress {
  itemsDone: number | null;
  itemsTotal: number | null;
  tokensPerSecond: number | null;
  etaSeconds: number | null;
}

export function RunLive({ runId, status, initial }: { runId: string; status: string; initial: Progress }) {
  const router = useRouter();
  const [state, setState] = useState(status);
  const [p, setP] = useState(initial);
  useEffect(() => {
    const source = new EventSource(`/api/events?run=${runId}`);
    source.addEventListener('run', (e) => {
      const ev = JSON.parse((e as MessageEvent<string>).data) as { type: string; data?: Partial<Progress> };
      if (ev.type === 'progress' && ev.data) {
        setState('running');
        setP((old) => ({ ...old, ...ev.data }));
      } else if (ev.type === 'active') setState('running');
      else if (ev.type === 'completed' || ev.type === 'failed' || ev.type === 'removed') {
        source.close();
        setTimeout(() => router.refresh(), 300);
      }
    });
    // Missed events must not leave the page stale.
    const t = setInterval(() => router.refresh(), 8000);
    return () => {
      source.close();
      clearInterval(t);
    };
  }, [runId, router]);
  return (
    <div className="notice" aria-live="polite">
      <span className={`status status-${state}`}>{state}</span>{' '}
      {state === 'running' ? (
        <>
          <progress max={p.itemsTotal ?? 1} value={p.itemsDone ?? 0} aria-label="run progress" style={{ maxWidth: '20rem' }} /> {p.itemsDone ?? 0}/{p.itemsTotal ?? '?'} items ·{' '}
          {num(p.tokensPerSecond, 3)} tok/s · ETA {duration(p.etaSeconds)}
        </>
      ) : (
        'waiting for a worker'
      )}
    </div>
  );
}
