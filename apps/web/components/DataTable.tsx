// A plain table: column headers, the caller's rows, and a muted line in place of rows when there are none.
import type { ReactNode } from 'react';

export interface DataColumn {
  label: ReactNode;
  /** Right-aligned numbers. */
  num?: boolean;
}

export function DataTable({ label, columns, empty, children }: { label: string; columns: DataColumn[]; empty?: string | null; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" className={c.num ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {children}
          {empty ? (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
