// Two runs side by side (typically K4V2 next to K2V4: the same memory, bits given to keys or to values).
import { getRunDetail } from '@kvbench/db';
import { LayerBars } from '../../components/charts/LayerBars';
import { runVariant } from '@kvbench/protocol';
import { lowerIsBetter, num, percent, variantText } from '../../components/format';
import type { Params } from '../../components/url';
import { database } from '../_data/db';
import { labelOfRun } from '../_data/labels';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — compare' };

const CONFIG_FIELDS = ['model', 'benchmark', 'protocol', 'backend', 'keyAxis', 'keyGroupSize', 'valueAxis', 'valueGroupSize', 'residualLength', 'limit', 'provider'] as const;

export default async function ComparePage({ searchParams }: { searchParams: Promise<Params> }) {
  const sp = await searchParams;
  const db = await database();
  const ids = [sp.a, sp.b].map((v) => (typeof v === 'string' ? v : ''));
  const [a, b] = await Promise.all(ids.map((id) => (id ? getRunDetail(db, id, { samples: 0 }) : undefined)));
  if (!a || !b) {
    return (
      <main>
        <h1>Compare</h1>
        <p className="errors" role="alert">
          Give two run ids: <code>/compare?a=&lt;run&gt;&amp;b=&lt;run&gt;</code>. {!a && ids[0] ? `No run ${ids[0]}. ` : ''}
          {!b && ids[1] ? `No run ${ids[1]}.` : ''}
        </p>
      </main>
    );
  }
  const la = labelOfRun(a.run);
  const lb = labelOfRun(b.run);
  const metricNames = [...new Set([...a.metrics, ...b.metrics].map((m) => m.name))].sort();
  const metricOf = (d: typeof a, name: string) => d.metrics.find((m) => m.name === name);
  const va = a.run.primaryValue;
  const vb = b.run.primaryValue;
  const metric = a.run.primaryMetric ?? 'metric';
  const winner = va !== null && vb !== null && va !== vb ? ((lowerIsBetter(metric) ? va < vb : va > vb) ? la : lb) : null;
  return (
    <main>
      <h1>
        <span className="bits">{la}</span> vs <span className="bits">{lb}</span> · {a.run.model} · {a.run.benchmark}
      </h1>
      <p className="lede" data-testid="compare-verdict">
        {metric}: {la} {num(va)} vs {lb} {num(vb)}
        {a.run.kvBytesPerToken === b.run.kvBytesPerToken ? ` at the same KV memory (${num(a.run.kvBytesPerToken)} bytes/token)` : ` at ${num(a.run.kvBytesPerToken)} vs ${num(b.run.kvBytesPerToken)} bytes/token`}
        {winner ? ` — ${winner} is better.` : '.'}
      </p>
      <div className="table-wrap" style={{ display: 'inline-block', maxWidth: '100%' }}>
        <table aria-label="Side by side" style={{ width: 'auto', minWidth: 'min(100%, 36rem)' }}>
          <thead>
            <tr>
              <th scope="col"></th>
              <th scope="col">
                <a href={`/runs/${a.run.id}`}>{la}</a>
              </th>
              <th scope="col">
                <a href={`/runs/${b.run.id}`}>{lb}</a>
              </th>
            </tr>
          </thead>
          <tbody>
            {metricNames.map((name) => {
              const ma = metricOf(a, name);
              const mb = metricOf(b, name);
              return (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td className="num">
                    {num(ma?.value)}
                    {ma?.stderr != null ? <span className="muted"> ± {num(ma.stderr, 2)}</span> : null}
                  </td>
                  <td className="num">
                    {num(mb?.value)}
                    {mb?.stderr != null ? <span className="muted"> ± {num(mb.stderr, 2)}</span> : null}
                  </td>
                </tr>
              );
            })}
            <tr>
              <th scope="row">KV bytes/token</th>
              <td className="num">{num(a.run.kvBytesPerToken)}</td>
              <td className="num">{num(b.run.kvBytesPerToken)}</td>
            </tr>
            <tr>
              <th scope="row">vs fp16</th>
              <td className="num">{percent(a.run.ratioToFp16)}</td>
              <td className="num">{percent(b.run.ratioToFp16)}</td>
            </tr>
            <tr>
              <th scope="row">tok/s</th>
              <td className="num">{num(a.run.tokensPerSecond, 3)}</td>
              <td className="num">{num(b.run.tokensPerSecond, 3)}</td>
            </tr>
            <tr>
              <th scope="row">rotation / turbo / budget</th>
              <td>{variantText(runVariant(a.run.config)) || '–'}</td>
              <td className={variantText(runVariant(a.run.config)) !== variantText(runVariant(b.run.config)) ? 'delta-bad' : undefined}>{variantText(runVariant(b.run.config)) || '–'}</td>
            </tr>
            {CONFIG_FIELDS.map((f) => (
              <tr key={f}>
                <th scope="row">{f}</th>
                <td>{String(a.run[f] ?? '–')}</td>
                <td className={a.run[f] !== b.run[f] ? 'delta-bad' : undefined}>{String(b.run[f] ?? '–')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Per-layer keys and values</h2>
      <div className="grid-2">
        <LayerBars stats={a.layerStats} title={la} />
        <LayerBars stats={b.layerStats} title={lb} />
      </div>
    </main>
  );
}
