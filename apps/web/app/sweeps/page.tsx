// Recent sweeps with how far each got.
import { listSweeps } from '@kvbench/db';
import { DataTable } from '../../components/DataTable';
import { dateTime } from '../../components/format';
import { database } from '../_data/db';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — sweeps' };

export default async function SweepsPage() {
  const sweeps = await listSweeps(await database(), 100);
  return (
    <main>
      <h1>Sweeps</h1>
      <p className="lede">
        The latest 100. Start one on the <a href="/submit">submit page</a>.
      </p>
      <DataTable
        label="Sweeps"
        columns={[{ label: 'Sweep' }, { label: 'Cells', num: true }, { label: 'Succeeded', num: true }, { label: 'Failed', num: true }, { label: 'Created (UTC)' }]}
        empty={sweeps.length === 0 ? 'No sweeps yet.' : null}
      >
        {sweeps.map((s) => (
          <tr key={s.id}>
            <td>
              <a href={`/sweeps/${s.id}`}>{s.name || s.id.slice(0, 8)}</a>
            </td>
            <td className="num">{s.cellCount}</td>
            <td className="num">{s.succeeded}</td>
            <td className={`num ${s.failed ? 'delta-bad' : ''}`}>{s.failed}</td>
            <td>{dateTime(s.createdAt)}</td>
          </tr>
        ))}
      </DataTable>
    </main>
  );
}
