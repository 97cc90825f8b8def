// One cell of the live grid: state colour, progress while running, the metric when done, the reason when failed.
import { duration, num, runDisplayLabel } from '../format';
import type { SweepCell } from './types';

export function SweepCellCard({ cell }: { cell: SweepCell }) {
  const label = runDisplayLabel(cell);
  const running = cell.status === 'running';
  return (
    <article className={`cell cell-${cell.status}`} data-status={cell.status} data-bits={label} aria-label={`${label}: ${cell.status}`}>
      <div className="toolbar" style={{ margin: 0 }}>
        <a className="bits" href={`/runs/${cell.id}`}>
          {label}
        </a>
        <span className={`status status-${cell.status}`}>{cell.status}</span>
      </div>
      {running && cell.itemsTotal === null ? <div className="small muted">starting (loading the model)…</div> : null}
      {running && cell.itemsTotal !== null ? (
        <div aria-live="polite">
          <progress max={cell.itemsTotal ?? 1} value={cell.itemsDone ?? 0} aria-label={`${label} progress`} />
          <div className="small">
            {cell.itemsDone ?? 0}/{cell.itemsTotal ?? '?'} items · {num(cell.tokensPerSecond, 3)} tok/s · ETA {duration(cell.etaSeconds)}
          </div>
        </div>
      ) : null}
      {cell.status === 'succeeded' ? (
        <div className="small">
          {cell.primaryMetric} <strong>{num(cell.primaryValue)}</strong>
          {cell.primaryStderr !== null ? ` ± ${num(cell.primaryStderr, 2)}` : ''}
          <br />
          {num(cell.kvBytesPerToken)} B/token
        </div>
      ) : null}
      {cell.status === 'failed' || (cell.status === 'cancelled' && cell.error) ? <div className="small error">{cell.error ?? 'failed'}</div> : null}
    </article>
  );
}
