'use client';
// Quality versus KV bytes per token, one colour per setting variant, the Pareto frontier drawn as a line.
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis, LabelList } from 'recharts';
import { num } from '../format';
import { PALETTE, paretoFrontier, type QualityPoint } from './quality-point';

export interface ParetoChartProps {
  points: QualityPoint[];
  metric: string;
  lowerIsBetter: boolean;
  title: string;
}

function PointTooltip({ active, payload, metric }: { active?: boolean; payload?: { payload: QualityPoint }[]; metric: string }) {
  const p = active ? payload?.[0]?.payload : undefined;
  if (!p) return null;
  return (
    <div className="panel small" style={{ margin: 0, padding: '0.4rem 0.6rem' }}>
      <strong className="bits">{p.label}</strong> <span className="muted">{p.variant}</span>
      <br />
      {metric}: {num(p.value)}
      {p.stderr !== null ? ` ± ${num(p.stderr, 2)}` : ''}
      <br />
      KV: {num(p.kvBytesPerToken)} B/token
    </div>
  );
}

export function ParetoChart({ points, metric, lowerIsBetter, title }: ParetoChartProps) {
  const frontier = paretoFrontier(points, lowerIsBetter);
  // Past a handful of setting variants a legend stops helping: one colour for all, the frontier on top.
  const distinct = [...new Set(points.map((p) => p.variant))];
  const grouped = distinct.length > 5;
  const variants = grouped ? ['runs'] : distinct;
  const ofVariant = (v: string) => (grouped ? points : points.filter((p) => p.variant === v));
  const values = points.map((p) => p.value).filter((v) => v > 0);
  // Perplexity spans 3.6 to 80 when 2-bit keys collapse: a log axis keeps the good configs readable.
  const logY = values.length > 1 && Math.max(...values) / Math.min(...values) > 4 && values.every((v) => v > 0);
  const showAllLabels = points.length <= 14;
  return (
    <figure className="panel" style={{ margin: 0 }} aria-label={title}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart">
        <ResponsiveContainer width="100%" height={320 + 16 * variants.length}>
          <ScatterChart margin={{ top: 12, right: 36, bottom: 36, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis
              type="number"
              dataKey="kvBytesPerToken"
              name="KV bytes/token"
              domain={['auto', 'auto']}
              padding={{ left: 12, right: 12 }}
              tickFormatter={(v: number) => num(v, 3)}
              label={{ value: 'KV cache bytes per token', position: 'insideBottom', offset: -18 }}
            />
            <YAxis
              type="number"
              dataKey="value"
              name={metric}
              scale={logY ? 'log' : 'auto'}
              domain={['auto', 'auto']}
              tickFormatter={(v: number) => num(v, 3)}
              width={56}
              label={{ value: `${metric}${logY ? ' (log)' : ''} ${lowerIsBetter ? '↓ better' : '↑ better'}`, angle: -90, position: 'insideLeft', offset: 4, style: { textAnchor: 'middle' } }}
            />
            <Tooltip content={<PointTooltip metric={metric} />} />
            <Legend verticalAlign="top" wrapperStyle={{ fontSize: 12, paddingBottom: 6 }} formatter={(value) => <span style={{ color: '#333' }}>{value}</span>} />
            {variants.map((v, i) => (
              <Scatter key={v} name={grouped ? `runs (${distinct.length} settings)` : variants.length > 1 ? v : 'runs'} data={ofVariant(v)} fill={grouped ? '#9aa5b8' : PALETTE[i % PALETTE.length]} isAnimationActive={false}>
                {showAllLabels ? <LabelList dataKey="label" position="right" style={{ fontSize: 11, fill: '#333' }} /> : null}
              </Scatter>
            ))}
            <Scatter name="Pareto frontier" data={frontier} fill="#111" stroke="#111" line={{ stroke: '#111', strokeWidth: 2 }} lineType="joint" shape="circle" isAnimationActive={false}>
              {showAllLabels ? null : <LabelList dataKey="label" position="top" style={{ fontSize: 11, fill: '#111' }} />}
            </Scatter>
          </ScatterChart>
        </ResponsiveContainer>
      </div>
      <p className="chart-note">Each dot is a run; the line joins the runs no other run beats on both memory and {metric}.</p>
    </figure>
  );
}
