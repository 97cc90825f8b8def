// A model: its shape, quality-vs-memory charts per benchmark, and the per-layer key/value statistics of
// its most recent full-precision run (keys carry larger norms than values: the reason bits go to keys).
import { getRunDetail, latestAnalysis, leaderboard } from '@kvbench/db';
import { findModel } from '@kvbench/protocol';
import { LayerBars } from '../../../components/charts/LayerBars';
import { ModelSpectra } from '../../../components/model-spectra';
import { QualityCharts } from '../../../components/charts/QualityCharts';
import { num } from '../../../components/format';
import { facets } from '../../_data/board';
import { chartData, FULL_PRECISION_VARIANT } from '../../_data/charts';
import { database } from '../../_data/db';
import { labelOfRun } from '../../_data/labels';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — model' };

export default async function ModelPage({ params }: { params: Promise<{ name: string }> }) {
  const name = decodeURIComponent((await params).name);
  const db = await database();
  const known = findModel(name);
  const benchmarks = (await facets(db)).pairs.filter((p) => p.model === name).map((p) => p.benchmark);
  const charts = (await Promise.all(benchmarks.slice(0, 4).map((b) => chartData(db, name, b)))).filter((c) => c !== null);
  // Layer statistics: the latest full-precision run, else the latest run that has any.
  const fp = await leaderboard(db, { model: name, keyBits: 16, valueBits: 16, pageSize: 1 });
  const latest = fp.rows[0] ?? (await leaderboard(db, { model: name, pageSize: 1 })).rows[0];
  const detail = latest ? await getRunDetail(db, latest.id, { samples: 0 }) : undefined;
  // The spectral diagnostics of the latest `analyze` run (norms and singular values of K and V).
  const analysis = await latestAnalysis(db, name);
  return (
    <main>
      <h1>{name}</h1>
      <p className="lede">
        {known
          ? `${known.family} · ${known.layers} layers · ${known.kvHeads} KV heads × head size ${known.headDim} · ${num(known.params / 1e6, 4)}M parameters · fp16 KV ${num(2 * known.layers * known.kvHeads * known.headDim * 2)} bytes/token`
          : 'model outside the known table'}
        {' · '}
        <a href={`/?model=${encodeURIComponent(name)}`}>its leaderboard rows</a>
      </p>
      {charts.length === 0 ? <p className="muted">No finished runs of this model yet.</p> : null}
      {charts.map((c) => (
        <section key={c.benchmark} aria-label={c.benchmark}>
          <h2>{c.benchmark}</h2>
          <QualityCharts model={c.model} benchmark={c.benchmark} metric={c.metric} lowerIsBetter={c.lowerIsBetter} points={c.points} fullPrecisionVariant={FULL_PRECISION_VARIANT} />
        </section>
      ))}
      {detail ? (
        <section aria-labelledby="layers-h">
          <h2 id="layers-h">Keys vs values per layer</h2>
          <p className="muted small">
            From run <a href={`/runs/${detail.run.id}`}>{detail.run.id.slice(0, 8)}</a> ({detail.run.keyBits === 16 ? 'full precision' : labelOfRun(detail.run)}, {detail.run.benchmark}).
          </p>
          <LayerBars stats={detail.layerStats} title={`${name}: per-layer statistics`} />
        </section>
      ) : null}
      {analysis ? (
        <section aria-labelledby="spectra-h">
          <h2 id="spectra-h">Singular-value spectra of K and V</h2>
          <ModelSpectra stats={analysis.layerStats} />
        </section>
      ) : null}
    </main>
  );
}
