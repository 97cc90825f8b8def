// What POST /api/sweeps?preview=1 said the submission would do, before anything is queued.
import { duration } from '../format';

export interface SweepPreview {
  cells: number;
  duplicates: number;
  skipped: { keyBits: number; valueBits: number; reason: string }[];
  alreadyDone: number;
  inProgress: number;
  toRun: number;
  unplaceable: { model: string; reason: string }[];
  models: { model: string; deviceClass: string | null; cells: number; estimatedSeconds: number; tokensPerSecond: number; measured: boolean }[];
  byDeviceClass: Record<string, { cells: number; estimatedSeconds: number }>;
  estimatedSeconds: number;
}

export function SweepPreviewPanel({ preview }: { preview: SweepPreview }) {
  return (
    <section className="notice" aria-label="Preview" data-testid="preview">
      <strong>Preview:</strong> {preview.cells} cell{preview.cells === 1 ? '' : 's'} · {preview.alreadyDone} already done · {preview.inProgress} queued or running ·{' '}
      <strong>{preview.toRun} to run</strong> · about {duration(preview.estimatedSeconds)}
      <ul className="small" style={{ margin: '0.3rem 0 0', paddingLeft: '1.2rem' }}>
        {Object.entries(preview.byDeviceClass).map(([cls, v]) => (
          <li key={cls}>
            {cls}: {v.cells} cell{v.cells === 1 ? '' : 's'}, about {duration(v.estimatedSeconds)}
          </li>
        ))}
        {preview.models.map((m) => (
          <li key={m.model}>
            {m.model} → {m.deviceClass ?? 'no device class'} at ~{Math.round(m.tokensPerSecond)} tok/s ({m.measured ? 'measured' : 'estimated'})
          </li>
        ))}
        {preview.skipped.length ? <li>skipped: {preview.skipped.map((s) => `K${s.keyBits}V${s.valueBits} (${s.reason})`).join(', ')}</li> : null}
        {preview.duplicates ? <li>{preview.duplicates} grid points were the same run as another cell</li> : null}
        {preview.unplaceable.map((u) => (
          <li key={u.model} className="delta-bad">
            {u.model}: {u.reason}
          </li>
        ))}
      </ul>
    </section>
  );
}
