// A run: headline, live progress while it runs, metrics, per-layer K/V statistics (and, when recorded, the
// budget allocation and the attention damage per layer), samples, config and provenance.
import { getRunDetail, storedAllocation, sweepsOfRun, type Run } from '@kvbench/db';
import { runVariant } from '@kvbench/protocol';
import { notFound } from 'next/navigation';
import { LayerBars } from '../../../components/charts/LayerBars';
import { bytes, dateTime, duration, num, percent } from '../../../components/format';
import { AllocationPanel } from '../../../components/run/AllocationPanel';
import { KeyValues } from '../../../components/run/KeyValues';
import { MetricsTable } from '../../../components/run/MetricsTable';
import { RunLive } from '../../../components/run/RunLive';
import { SamplesTable } from '../../../components/run/SamplesTable';
import { findPartner } from '../../_data/board';
import { database } from '../../_data/db';
import { labelOfRun } from '../../_data/labels';

const ATTENTION_NAMES: Record<string, string> = {
  'attn.klMean': 'attention KL (mean)',
  'attn.klMax': 'attention KL (max)',
  'attn.outputRelError': 'output rel. error',
  'attn.relError': 'cache rel. error',
};
const ALLOCATION_NAMES: Record<string, string> = { 'alloc.bits': 'bits', 'alloc.groupSize': 'group size', 'alloc.sensitivity': 'sensitivity (norm)' };

/** The cache settings in words for the lede. */
function settings(run: Run): string {
  if (!run.backend) return 'full-precision cache';
  const v = runVariant(run.config);
  const seed = (run.config as { seed?: number }).seed ?? 0;
  if (run.backend === 'turbo') return `TurboQuant ${v.turboScheme} (keys ${v.turboScheme === 'QKQV' ? 'MSE+QJL' : 'MSE'}, values ${v.turboScheme === 'KV' ? 'MSE' : 'MSE+QJL'}, seed ${seed}), residual ${run.residualLength}`;
  const groups = (g: number | null) => (g === null ? 'per-layer groups' : `groups of ${g}`);
  const budget = v.budget !== undefined ? `, budget ${v.budget} bits over widths ${v.bitRange?.join(', ')} by ${v.budgetScore} norms of ${v.budgetSource === 'cache' ? 'the cache' : 'the weights'}${v.groupBudget ? ` (group budget ${v.groupBudget})` : ''}` : '';
  const rotation = v.rotation === 'hadamard' ? `, Walsh-Hadamard rotation (seed ${seed})` : '';
  return `${run.backend}, keys ${run.keyAxis} ${groups(run.keyGroupSize)}, values ${run.valueAxis} ${groups(run.valueGroupSize)}${budget}${rotation}, residual ${run.residualLength}`;
}

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — run' };

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const db = await database();
  const detail = await getRunDetail(db, id, { samples: 50 });
  if (!detail) notFound();
  const { run, metrics, layerStats, samples } = detail;
  const [sweeps, partner] = await Promise.all([sweepsOfRun(db, run.id), run.status === 'succeeded' ? findPartner(db, run) : null]);
  const label = labelOfRun(run);
  const allocation = storedAllocation(run.config, metrics, layerStats);
  const points = layerStats.map(({ layer, tensor, metric, value }) => ({ layer, tensor, metric, value }));
  const attention = points.filter((s) => s.metric.startsWith('attn.'));
  const allocationStats = points.filter((s) => s.metric.startsWith('alloc.'));
  const cacheStats = points.filter((s) => !s.metric.startsWith('attn.') && !s.metric.startsWith('alloc.'));
  const open = run.status === 'queued' || run.status === 'running';
  return (
    <main>
      <h1>
        <span className="bits">{label}</span> · {run.model} · {run.benchmark} <span className={`status status-${run.status}`}>{run.status}</span>
      </h1>
      <p className="lede">
        {settings(run)} ·{' '}
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
            · <a href={`/compare?a=${run.id}&b=${partner.id}`}>compare with {partner.label}</a>
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
          <MetricsTable metrics={allocation ? metrics.filter((m) => !m.name.startsWith('alloc.')) : metrics} />
        </section>
        <section aria-labelledby="layers-h">
          <h2 id="layers-h">Per-layer keys and values</h2>
          <LayerBars stats={cacheStats} title={`${label} · ${run.model}`} />
        </section>
      </div>
      {allocation ? (
        <section aria-labelledby="alloc-h">
          <h2 id="alloc-h">Allocation per layer</h2>
          <div className="grid-2">
            <AllocationPanel allocation={allocation} />
            <LayerBars stats={allocationStats} title={`${label}: bits, group sizes and sensitivities per layer`} initialMetric="alloc.bits" metricNames={ALLOCATION_NAMES} empty="No allocation was recorded for this run." />
          </div>
        </section>
      ) : null}
      {attention.length ? (
        <section aria-labelledby="attn-h">
          <h2 id="attn-h">Attention per layer</h2>
          <LayerBars
            stats={attention}
            title={`${label}: what quantizing K and V does to each layer's attention`}
            initialMetric="attn.klMean"
            metricNames={ATTENTION_NAMES}
            seriesNames={{ K: 'keys quantized', V: 'values quantized' }}
          />
        </section>
      ) : null}
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
