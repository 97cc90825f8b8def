'use client';
// Per-layer statistics of keys next to values (norms, quantization error, allocation, attention damage),
// one metric at a time. A metric measured on one tensor only (attention KL lives on the keys) draws one series.
import { useId, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { num } from '../format';

export interface LayerStatPoint {
  layer: number;
  tensor: 'k' | 'v';
  metric: string;
  value: number;
}

export interface LayerBarsProps {
  stats: LayerStatPoint[];
  title: string;
  /** the metric shown first, when present (else the first by name) */
  initialMetric?: string;
  /** readable names of metrics in the picker and on the axis */
  metricNames?: Record<string, string>;
  /** names of the two series for some metrics (e.g. attention KL is a property of the keys' scores) */
  seriesNames?: Partial<Record<'K' | 'V', string>>;
  empty?: string;
}

export function LayerBars({ stats, title, initialMetric, metricNames = {}, seriesNames = {}, empty }: LayerBarsProps) {
  const metrics = [...new Set(stats.map((s) => s.metric))].sort();
  const [metric, setMetric] = useState(initialMetric && metrics.includes(initialMetric) ? initialMetric : (metrics[0] ?? ''));
  const selectId = useId();
  if (!metrics.length) return <p className="muted">{empty ?? 'No per-layer statistics were recorded for this run.'}</p>;
  const layers = [...new Set(stats.map((s) => s.layer))].sort((a, b) => a - b);
  const data = layers.map((layer) => {
    const of = (t: 'k' | 'v') => stats.find((s) => s.layer === layer && s.tensor === t && s.metric === metric)?.value ?? null;
    return { layer: `L${layer}`, K: of('k'), V: of('v') };
  });
  const has = (key: 'K' | 'V') => data.some((d) => d[key] !== null);
  const name = (m: string) => metricNames[m] ?? m;
  return (
    <figure className="panel" style={{ margin: 0 }} aria-label={title}>
      <div className="toolbar" style={{ margin: 0 }}>
        <figcaption className="chart-title">{title}</figcaption>
        <label className="inline" htmlFor={selectId}>
          statistic
          <select id={selectId} value={metric} onChange={(e) => setMetric(e.target.value)}>
            {metrics.map((m) => (
              <option key={m} value={m}>
                {name(m)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="chart">
        <ResponsiveContainer width="100%" height={300}>
          <BarChart data={data} margin={{ top: 8, right: 12, bottom: 30, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="layer" label={{ value: 'layer', position: 'insideBottom', offset: -16 }} />
            <YAxis tickFormatter={(v: number) => num(v, 3)} width={60} label={{ value: name(metric), angle: -90, position: 'insideLeft', offset: 4, style: { textAnchor: 'middle' } }} />
            <Tooltip formatter={(v) => num(Number(v))} />
            <Legend verticalAlign="top" height={26} />
            {has('K') ? <Bar dataKey="K" name={seriesNames.K ?? 'keys (K)'} fill="#2456c9" isAnimationActive={false} /> : null}
            {has('V') ? <Bar dataKey="V" name={seriesNames.V ?? 'values (V)'} fill="#d97706" isAnimationActive={false} /> : null}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
