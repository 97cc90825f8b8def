'use client';
// The sweep page's live part: counts, the grid of cells grouped by setting, cancel and rerun-failed.
import { useState, useTransition } from 'react';
import { ApiTokenField } from '../ApiTokenField';
import { callApi, writeError } from '../api-client';
import { variantText } from '../format';
import { useApiToken } from '../useApiToken';
import { CellMatrix } from './CellMatrix';
import { countStatuses, STATUSES, type SweepCell, type SweepSnapshot } from './types';
import { useSweepLive } from './useSweepLive';

/** One b_K x b_V matrix per setting: the rotation, turbo scheme and budget are settings too (budget cells share bits). */
function blockOf(c: SweepCell): string {
  const layout = c.backend === 'turbo' ? '' : ` · K ${c.keyAxis}/${c.keyGroupSize ?? 'per layer'} · V ${c.valueAxis}/${c.valueGroupSize ?? 'per layer'}`;
  const variant = variantText(c.variant);
  const budget = c.variant?.budget !== undefined ? ` ${c.variant.budget}` : '';
  const q = c.backend ? `${c.backend}${layout}${variant ? ` · ${variant.replace(/^budget/, `budget${budget}`)}` : ''} · residual ${c.residualLength}` : 'full precision';
  return `${c.model} · ${c.benchmark} · ${q}`;
}

export function SweepLive({ initial }: { initial: SweepSnapshot }) {
  const { cells, connected, refresh } = useSweepLive(initial);
  const { token, save, forget } = useApiToken();
  const [message, setMessage] = useState<string | null>(null);
  const [busy, startBusy] = useTransition();
  const counts = countStatuses(cells);
  const done = counts.succeeded + counts.failed + counts.cancelled;
  const blocks = new Map<string, SweepCell[]>();
  for (const c of cells) blocks.set(blockOf(c), [...(blocks.get(blockOf(c)) ?? []), c]);

  const write = (what: () => Promise<string | null>) =>
    startBusy(async () => {
      setMessage(null);
      if (!token) {
        setMessage('Enter the API token first.');
        return;
      }
      setMessage(await what());
      await refresh();
    });

  const cancel = () =>
    write(async () => {
      const open = cells.filter((c) => c.status === 'queued' || c.status === 'running');
      let failures = 0;
      for (const c of open) {
        const r = await callApi('DELETE', `/api/runs/${c.id}`, undefined, token);
        if (!r.ok) {
          if (r.status === 401) forget();
          failures++;
          if (r.status === 401 || r.status === 503) return writeError(r);
        }
      }
      return failures ? `${failures} cell(s) could not be cancelled.` : `Cancelled ${open.length} cell(s).`;
    });

  const rerun = () =>
    write(async () => {
      const r = await callApi<{ requeued: number }>('POST', `/api/sweeps/${initial.id}/rerun-failed`, undefined, token);
      if (!r.ok) {
        if (r.status === 401) forget();
        return writeError(r);
      }
      return `Re-queued ${r.body.requeued} cell(s).`;
    });

  return (
    <div className="stack">
      <div className="panel stack">
        <div className="toolbar" style={{ margin: 0 }}>
          <div aria-live="polite" data-testid="sweep-counts">
            <strong>
              {done}/{cells.length}
            </strong>{' '}
            finished · {STATUSES.map((s) => `${counts[s]} ${s}`).join(' · ')}
          </div>
          <span className="small muted">{connected ? '● live' : '○ reconnecting'}</span>
        </div>
        <progress max={cells.length || 1} value={done} aria-label="sweep progress" />
        <div className="legend" aria-hidden="true">
          {STATUSES.map((s) => (
            <span key={s} style={{ ['--c' as string]: `var(--${s})` }}>
              {s}
            </span>
          ))}
        </div>
        <ApiTokenField token={token} onSave={save} onForget={forget} />
        <div className="row">
          <button type="button" className="danger" disabled={busy || !(counts.queued + counts.running)} onClick={cancel}>
            Cancel sweep
          </button>
          <button type="button" className="secondary" disabled={busy || !(counts.failed + counts.cancelled)} onClick={rerun}>
            Rerun failed cells
          </button>
          <a className="button secondary" href={`/?model=${encodeURIComponent(cells[0]?.model ?? '')}&benchmark=${encodeURIComponent(cells[0]?.benchmark ?? '')}`}>
            On the leaderboard
          </a>
        </div>
        {message ? (
          <p className="notice" role="status">
            {message}
          </p>
        ) : null}
      </div>
      {[...blocks].map(([block, list]) => (
        <section key={block} aria-label={block}>
          <h3>{block}</h3>
          <CellMatrix cells={list} label={block} />
        </section>
      ))}
      {cells.length === 0 ? <p className="muted">This sweep has no cells.</p> : null}
    </div>
  );
}
