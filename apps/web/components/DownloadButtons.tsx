'use client';
// CSV and JSON of exactly the rows on screen, built in the browser (no second query that could differ).
import { toCsv, type ExportRow } from './board-export';

function save(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function DownloadButtons({ rows, basename }: { rows: ExportRow[]; basename: string }) {
  return (
    <span className="row" style={{ gap: '0.4rem' }}>
      <button type="button" className="secondary" disabled={!rows.length} onClick={() => save(`${basename}.csv`, 'text/csv', toCsv(rows))}>
        Download CSV
      </button>
      <button type="button" className="secondary" disabled={!rows.length} onClick={() => save(`${basename}.json`, 'application/json', JSON.stringify(rows, null, 2))}>
        Download JSON
      </button>
    </span>
  );
}
