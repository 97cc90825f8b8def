// Queue admin: depth per device class and state, workers seen recently, failed jobs and runs with reasons.
import { runLabel, runVariant } from '@kvbench/protocol';
import { DataTable } from '../../../components/DataTable';
import { dateTime } from '../../../components/format';
import { queueAdmin } from '../../_data/queue-admin';
import { database } from '../../_data/db';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — queue' };

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'paused'];

export default async function QueueAdminPage() {
  const view = await queueAdmin(await database());
  return (
    <main>
      <h1>Queue</h1>
      <p className="lede">
        Redis prefix <code>{view.prefix}</code> · runs in Postgres: {Object.entries(view.runCounts).map(([s, n]) => `${n} ${s}`).join(' · ')}
      </p>
      {view.redisError ? (
        <p className="errors" role="alert">
          Redis: {view.redisError}
        </p>
      ) : null}
      <h2>Jobs per device class</h2>
      <DataTable label="Queue depth" columns={[{ label: 'Device class' }, ...STATES.map((s) => ({ label: s, num: true })), { label: 'workers connected', num: true }]}>
        {view.classes.map((c) => (
          <tr key={c.deviceClass}>
            <th scope="row">{c.deviceClass}</th>
            {STATES.map((s) => (
              <td key={s} className={`num ${s === 'failed' && c.counts[s] ? 'delta-bad' : ''}`}>
                {c.counts[s] ?? 0}
              </td>
            ))}
            <td className="num">{c.workers.length}</td>
          </tr>
        ))}
      </DataTable>
      <div className="grid-2">
        <section aria-labelledby="conn-h">
          <h2 id="conn-h">Workers connected now</h2>
          <DataTable
            label="Connected workers"
            columns={[{ label: 'Queue' }, { label: 'Connection' }, { label: 'idle (s)', num: true }]}
            empty={view.classes.every((c) => !c.workers.length) ? 'No worker is connected.' : null}
          >
            {view.classes.flatMap((c) =>
              c.workers.map((w) => (
                <tr key={`${c.deviceClass}${w.addr}${w.name}`}>
                  <td>{c.deviceClass}</td>
                  <td className="mono small">{w.addr}</td>
                  <td className="num">{w.idleSeconds ?? '–'}</td>
                </tr>
              )),
            )}
          </DataTable>
        </section>
        <section aria-labelledby="seen-h">
          <h2 id="seen-h">Workers seen in the last hour</h2>
          <DataTable
            label="Workers seen recently"
            columns={[{ label: 'Worker' }, { label: 'runs', num: true }, { label: 'running', num: true }, { label: 'last seen (UTC)' }]}
            empty={view.recentWorkers.length === 0 ? 'No worker has touched a run in the last hour.' : null}
          >
            {view.recentWorkers.map((w) => (
              <tr key={w.workerId}>
                <td className="mono small">{w.workerId}</td>
                <td className="num">{w.runs}</td>
                <td className="num">{w.running}</td>
                <td>{dateTime(w.lastSeen)}</td>
              </tr>
            ))}
          </DataTable>
        </section>
      </div>
      <h2>Failed runs</h2>
      <DataTable
        label="Failed runs"
        columns={[{ label: 'Run' }, { label: 'Kind' }, { label: 'Reason' }, { label: 'attempts', num: true }, { label: 'worker' }, { label: 'finished (UTC)' }]}
        empty={view.failedRuns.length === 0 ? 'No failed runs.' : null}
      >
        {view.failedRuns.map((r) => (
          <tr key={r.id}>
            <td>
              <a href={`/runs/${r.id}`}>
                {r.model} {runLabel({ ...r, ...runVariant(r.config) })} {r.benchmark}
              </a>
            </td>
            <td>{r.errorKind ?? '–'}</td>
            <td className="wrap small">{r.error ?? '–'}</td>
            <td className="num">{r.attempts}</td>
            <td className="mono small">{r.workerId ?? '–'}</td>
            <td>{dateTime(r.finishedAt)}</td>
          </tr>
        ))}
      </DataTable>
      <h2>Failed jobs in the queues</h2>
      <DataTable
        label="Failed jobs"
        columns={[{ label: 'Queue' }, { label: 'Job (config hash)' }, { label: 'Reason' }, { label: 'attempts', num: true }]}
        empty={view.classes.every((c) => !c.failed.length) ? 'No failed jobs kept in Redis.' : null}
      >
        {view.classes.flatMap((c) =>
          c.failed.map((j) => (
            <tr key={`${c.deviceClass}${j.id}`}>
              <td>{c.deviceClass}</td>
              <td className="mono small">{j.runId ? <a href={`/runs/${j.runId}`}>{j.id.slice(0, 12)}</a> : j.id.slice(0, 12)}</td>
              <td className="wrap small">{j.reason}</td>
              <td className="num">{j.attempts}</td>
            </tr>
          )),
        )}
      </DataTable>
    </main>
  );
}
