// A definition list of plain values (config, provenance); nested objects print as compact JSON.
export function KeyValues({ entries, label }: { entries: [string, unknown][]; label: string }) {
  const text = (v: unknown) => (v === null || v === undefined || v === '' ? '–' : typeof v === 'object' ? JSON.stringify(v) : v instanceof Date ? v.toISOString() : String(v));
  return (
    <dl className="kv" aria-label={label}>
      {entries.map(([k, v]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt>{k}</dt>
          <dd className={typeof v === 'string' && /^[0-9a-f]{16,}$/.test(v) ? 'mono' : undefined}>{text(v)}</dd>
        </div>
      ))}
    </dl>
  );
}
