// Queue admin: depth per device class and state, workers seen recently, failed jobs and runs with reasons.
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
      <div className="table-wrap">
        <table aria-label="Queue depth">
          <thead>
            <tr>
              <th scope="col">Device class</th>
              {STATES.map((s) => (
                <th key={s} scope="col" className="num">
                  {s}
                </th>
              ))}
              <th scope="col" className="num">workers connected</th>
            </tr>
          </thead>
          <tbody>
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
          </tbody>
        </table>
      </div>
      <div className="grid-2">
        <section aria-labelledby="conn-h">
          <h2 id="conn-h">Workers connected now</h2>
          <div className="table-wrap">
            <table aria-label="Connected workers">
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  <th scope="col">Connection</th>
                  <th scope="col" className="num">idle (s)</th>
                </tr>
              </thead>
              <tbody>
                {view.classes.flatMap((c) =>
                  c.workers.map((w) => (
                    <tr key={`${c.deviceClass}${w.addr}${w.name}`}>
                      <td>{c.deviceClass}</td>
                      <td className="mono small">{w.addr}</td>
                      <td className="num">{w.idleSeconds ?? '–'}</td>
                    </tr>
                  )),
                )}
                {view.classes.every((c) => !c.workers.length) ? (
                  <tr>
                    <td colSpan={3} className="muted">
                      No worker is connected.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-labelledby="seen-h">
          <h2 id="seen-h">Workers seen in the last hour</h2>
          <div className="table-wrap">
            <table aria-label="Workers seen recently">
              <thead>
                <tr>
                  <th scope="col">Worker</th>
                  <th scope="col" className="num">runs</th>
                  <th scope="col" className="num">running</th>
                  <th scope="col">last seen (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {view.recentWorkers.map((w) => (
                  <tr key={w.workerId}>
                    <td className="mono small">{w.workerId}</td>
                    <td className="num">{w.runs}</td>
                    <td className="num">{w.running}</td>
                    <td>{dateTime(w.lastSeen)}</td>
                  </tr>
                ))}
                {view.recentWorkers.length === 0 ? (
                  <tr>
                    <td colSpan={4} className="muted">
                      No worker has touched a run in the last hour.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
        </section>
      </div>
      <h2>Failed runs</h2>
      <div className="table-wrap">
        <table aria-label="Failed runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Kind</th>
              <th scope="col">Reason</th>
              <th scope="col" className="num">attempts</th>
              <th scope="col">worker</th>
              <th scope="col">finished (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {view.failedRuns.map((r) => (
              <tr key={r.id}>
                <td>
                  <a href={`/runs/${r.id}`}>
                    {r.model} K{r.keyBits}V{r.valueBits} {r.benchmark}
                  </a>
                </td>
                <td>{r.errorKind ?? '–'}</td>
                <td className="wrap small">{r.error ?? '–'}</td>
                <td className="num">{r.attempts}</td>
                <td className="mono small">{r.workerId ?? '–'}</td>
                <td>{dateTime(r.finishedAt)}</td>
              </tr>
            ))}
            {view.failedRuns.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No failed runs.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <h2>Failed jobs in the queues</h2>
      <div className="table-wrap">
        <table aria-label="Failed jobs">
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col">Job (config hash)</th>
              <th scope="col">Reason</th>
              <th scope="col" className="num">attempts</th>
            </tr>
          </thead>
          <tbody>
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
            {view.classes.every((c) => !c.failed.length) ? (
              <tr>
                <td colSpan={4} className="muted">
                  No failed jobs kept in Redis.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </main>
  );
}
