// A sweep: its spec and the live grid of cells.
import { getSweep } from '@kvbench/db';
import { notFound } from 'next/navigation';
import { SweepLive } from '../../../components/sweep/SweepLive';
import type { SweepSnapshot } from '../../../components/sweep/types';
import { dateTime } from '../../../components/format';
import { database } from '../../_data/db';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — sweep' };

export default async function SweepPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const found = await getSweep(await database(), id);
  if (!found) notFound();
  const snapshot: SweepSnapshot = { id: found.sweep.id, name: found.sweep.name, cellCount: found.sweep.cellCount, counts: found.counts, cells: found.cells };
  return (
    <main>
      <h1>Sweep {found.sweep.name ? `“${found.sweep.name}”` : <code>{found.sweep.id.slice(0, 8)}</code>}</h1>
      <p className="lede">
        {found.sweep.cellCount} cells · created {dateTime(found.sweep.createdAt)} UTC
      </p>
      <SweepLive initial={snapshot} />
      <details className="panel">
        <summary>Spec as submitted</summary>
        <pre className="mono small" style={{ overflowX: 'auto' }}>
          {JSON.stringify(found.sweep.spec, null, 2)}
        </pre>
      </details>
    </main>
  );
}
