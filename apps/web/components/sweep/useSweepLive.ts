'use client';
// Live cells of a sweep: progress from the SSE stream (GET /api/events?sweep=id), and a re-read of the
// sweep from the API whenever a cell changes state (Postgres is the truth; events only say "look again").
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CellStatus, SweepCell, SweepSnapshot } from './types';

interface ProgressData {
  itemsDone?: number;
  itemsTotal?: number;
  tokensPerSecond?: number;
  etaSeconds?: number | null;
}

export function useSweepLive(initial: SweepSnapshot): { cells: SweepCell[]; connected: boolean; refresh(): Promise<void> } {
  const [cells, setCells] = useState(initial.cells);
  const [connected, setConnected] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const refresh = useCallback(async () => {
    const res = await fetch(`/api/sweeps/${initial.id}`, { cache: 'no-store' });
    if (res.ok) setCells(((await res.json()) as SweepSnapshot).cells);
  }, [initial.id]);

  const refreshSoon = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void refresh();
    }, 300);
  }, [refresh]);

  useEffect(() => {
    const source = new EventSource(`/api/events?sweep=${initial.id}`);
    const patch = (hash: string, change: Partial<SweepCell>) => setCells((cs) => cs.map((c) => (c.hash === hash ? { ...c, ...change } : c)));
    source.addEventListener('open', () => setConnected(true));
    source.addEventListener('error', () => setConnected(false));
    source.addEventListener('snapshot', () => refreshSoon());
    source.addEventListener('run', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as { type: string; hash: string; data?: ProgressData };
      if (event.type === 'progress' && event.data) {
        const d = event.data;
        patch(event.hash, { status: 'running' as CellStatus, itemsDone: d.itemsDone ?? null, itemsTotal: d.itemsTotal ?? null, tokensPerSecond: d.tokensPerSecond ?? null, etaSeconds: d.etaSeconds ?? null });
      } else if (event.type === 'active') {
        patch(event.hash, { status: 'running' });
      } else {
        refreshSoon();
      }
    });
    return () => {
      source.close();
      if (timer.current) clearTimeout(timer.current);
    };
  }, [initial.id, refreshSoon]);

  // A safety net for missed events (a stream reconnecting): re-read now and then while work remains.
  const active = cells.some((c) => c.status === 'queued' || c.status === 'running');
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => void refresh(), 5000);
    return () => clearInterval(t);
  }, [active, refresh]);

  return { cells, connected, refresh };
}
