// A run: headline, live progress while it runs, metrics, per-layer K/V statistics, samples, config and provenance.
import { getRunDetail, sweepsOfRun } from '@kvbench/db';
import { notFound } from 'next/navigation';
import { LayerBars } from '../../../components/charts/LayerBars';
import { bitsLabel, bytes, dateTime, duration, num, percent } from '../../../components/format';
import { KeyValues } from '../../../components/run/KeyValues';
import { MetricsTable } from '../../../components/run/MetricsTable';
import { RunLive } from '../../../components/run/RunLive';
import { SamplesTable } from '../../../components/run/SamplesTable';
import { findPartner } from '../../_data/board';
import { database } from '../../_data/db';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — run' };

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const db = await database();
  const detail = await getRunDetail(db, id, { samples: 50 });
  if (!detail) notFound();
  const { run, metrics, layerStats, samples } = detail;
  const [sweeps, partner] = await Promise.all([sweepsOfRun(db, run.id), run.status === 'succeeded' ? findPartner(db, run) : null]);
  const label = bitsLabel(run.keyBits, run.valueBits);
  const open = run.status === 'queued' || run.status === 'running';
  return (
    <main>
      <h1>
        <span className="bits">{label}</span> · {run.model} · {run.benchmark} <span className={`status status-${run.status}`}>{run.status}</span>
      </h1>
      <p className="lede">
        {run.backend ? `${run.backend}, keys ${run.keyAxis} groups of ${run.keyGroupSize}, values ${run.valueAxis} groups of ${run.valueGroupSize}, residual ${run.residualLength}` : 'full-precision cache'} ·{' '}
        {run.limit} items · {run.protocol}
        {sweeps.length ? (
          <>
            {' '}
            · sweep{' '}
            {sweeps.map((s, i) => (
              <a key={s} href={`/sweeps/${s}`}>
                {i ? ', ' : ''}
                {s.slice(0, 8)}
              </a>
            ))}
          </>
        ) : null}
        {partner ? (
          <>
            {' '}
            · <a href={`/compare?a=${run.id}&b=${partner}`}>compare with {bitsLabel(run.valueBits, run.keyBits)}</a>
          </>
        ) : null}
      </p>
      {open ? <RunLive runId={run.id} status={run.status} initial={{ itemsDone: run.itemsDone, itemsTotal: run.itemsTotal, tokensPerSecond: run.tokensPerSecond, etaSeconds: run.etaSeconds }} /> : null}
      {run.status === 'failed' || run.status === 'cancelled' ? (
        <div className="errors" role="alert">
          <strong>{run.status === 'failed' ? 'Failed' : 'Cancelled'}</strong>
          {run.errorKind ? ` (${run.errorKind})` : ''}: {run.error ?? 'no reason recorded'}
        </div>
      ) : null}
      {run.status === 'succeeded' ? (
        <div className="panel row" aria-label="Headline">
          <div>
            <div className="muted small">{run.primaryMetric}</div>
            <div style={{ fontSize: '1.4rem', fontWeight: 600 }} data-testid="headline-value">
              {num(run.primaryValue)}
              {run.primaryStderr !== null ? <span className="muted small"> ± {num(run.primaryStderr, 2)}</span> : null}
            </div>
          </div>
          <div>
            <div className="muted small">KV bytes/token</div>
            <div style={{ fontSize: '1.4rem', fontWeight: 600 }}>{num(run.kvBytesPerToken)}</div>
          </div>
          <div>
            <div className="muted small">vs fp16</div>
            <div style={{ fontSize: '1.4rem', fontWeight: 600 }}>{percent(run.ratioToFp16)}</div>
          </div>
          <div>
            <div className="muted small">throughput</div>
            <div style={{ fontSize: '1.4rem', fontWeight: 600 }}>{num(run.tokensPerSecond, 3)} tok/s</div>
          </div>
          <div>
            <div className="muted small">wall time</div>
            <div style={{ fontSize: '1.4rem', fontWeight: 600 }}>{duration(run.wallSeconds)}</div>
          </div>
        </div>
      ) : null}
      <div className="grid-2">
        <section aria-labelledby="metrics-h">
          <h2 id="metrics-h">Metrics</h2>
          <MetricsTable metrics={metrics} />
        </section>
        <section aria-labelledby="layers-h">
          <h2 id="layers-h">Per-layer keys and values</h2>
          <LayerBars stats={layerStats.map(({ layer, tensor, metric, value }) => ({ layer, tensor, metric, value }))} title={`${label} · ${run.model}`} />
        </section>
      </div>
      <div className="grid-2">
        <section aria-labelledby="prov-h">
          <h2 id="prov-h">Provenance</h2>
          <div className="panel">
            <KeyValues
              label="Provenance"
              entries={[
                ['provider asked', run.provider],
                ['provider used', run.providerUsed],
                ['device', run.device],
                ['device class', run.deviceClass],
                ['worker', run.workerId],
                ['attempts', run.attempts],
                ['model architecture', run.modelArchitecture],
                ['model weights hash', run.weightsHash],
                ['data hash', run.dataHash],
                ['benchmark items', run.benchmarkItems],
                ['versions', run.versions],
                ['peak RSS', run.peakRssBytes ? bytes(run.peakRssBytes) : null],
                ['non-finite inputs', run.nonFinite],
                ['config hash', run.hash],
                ['queued (UTC)', dateTime(run.queuedAt)],
                ['started (UTC)', dateTime(run.startedAt)],
                ['finished (UTC)', dateTime(run.finishedAt)],
              ]}
            />
          </div>
        </section>
        <section aria-labelledby="config-h">
          <h2 id="config-h">Config</h2>
          <div className="panel">
            <KeyValues label="Config" entries={Object.entries(run.config as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))} />
          </div>
        </section>
      </div>
      <section aria-labelledby="samples-h">
        <h2 id="samples-h">Samples {samples.length ? <span className="muted small">(first {samples.length})</span> : null}</h2>
        <SamplesTable samples={samples} />
      </section>
    </main>
  );
}
