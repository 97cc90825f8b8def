'use client';
// The b_K x b_V grid of the metric: rows are key bits, columns value bits, colour from best (green) to
// worst (red). Drawn as stacked unit bars so the library handles layout, axes and resizing.
import { Bar, BarChart, Cell, LabelList, ResponsiveContainer, XAxis, YAxis } from 'recharts';
import { num } from '../format';
import type { QualityPoint } from './quality-point';

export interface BitsHeatmapProps {
  points: QualityPoint[];
  metric: string;
  lowerIsBetter: boolean;
  title: string;
}

function colour(t: number): string {
  // green (0) -> amber (0.5) -> red (1)
  const stops = [
    [46, 158, 91],
    [240, 190, 60],
    [208, 69, 58],
  ];
  const x = Math.min(Math.max(t, 0), 1) * 2;
  const i = Math.min(Math.floor(x), 1);
  const f = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export function BitsHeatmap({ points, metric, lowerIsBetter, title }: BitsHeatmapProps) {
  const keyBits = [...new Set(points.map((p) => p.keyBits))].sort((a, b) => b - a);
  const valueBits = [...new Set(points.map((p) => p.valueBits))].sort((a, b) => a - b);
  const at = new Map(points.map((p) => [`${p.keyBits}/${p.valueBits}`, p]));
  const values = points.map((p) => p.value);
  const useLog = lowerIsBetter && values.every((v) => v > 0);
  const f = (v: number) => (useLog ? Math.log(v) : v);
  const lo = Math.min(...values.map(f));
  const hi = Math.max(...values.map(f));
  const badness = (v: number) => (hi === lo ? 0 : lowerIsBetter ? (f(v) - lo) / (hi - lo) : (hi - f(v)) / (hi - lo));
  const rows = keyBits.map((k) => {
    const row: Record<string, string | number> = { row: k === 16 ? 'K16' : `K${k}` };
    valueBits.forEach((v, j) => {
      const p = at.get(`${k}/${v}`);
      row[`c${j}`] = 1;
      row[`t${j}`] = p ? num(p.value, 3) : '';
    });
    return row;
  });
  const height = Math.max(140, 44 * keyBits.length + 70);
  return (
    <figure className="panel" style={{ margin: 0 }} aria-label={title}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart" style={{ minHeight: height }}>
        <ResponsiveContainer width="100%" height={height}>
          <BarChart layout="vertical" data={rows} margin={{ top: 4, right: 12, bottom: 30, left: 8 }} barCategoryGap={2}>
            <XAxis
              type="number"
              domain={[0, valueBits.length]}
              ticks={valueBits.map((_, j) => j + 0.5)}
              tickFormatter={(x: number) => `V${valueBits[Math.floor(x)]}`}
              interval={0}
              tickLine={false}
              label={{ value: 'value bits b_V', position: 'insideBottom', offset: -16 }}
            />
            <YAxis
              type="category"
              dataKey="row"
              width={64}
              tickLine={false}
              label={{ value: 'key bits b_K', angle: -90, position: 'insideLeft', offset: 6, style: { textAnchor: 'middle' } }}
            />
            {valueBits.map((v, j) => (
              <Bar key={v} dataKey={`c${j}`} stackId="grid" isAnimationActive={false} stroke="#fff" strokeWidth={2}>
                {keyBits.map((k) => {
                  const p = at.get(`${k}/${v}`);
                  return <Cell key={k} fill={p ? colour(badness(p.value)) : '#eceff3'} />;
                })}
                <LabelList dataKey={`t${j}`} position="center" style={{ fontSize: 12, fill: '#111', fontWeight: 600 }} />
              </Bar>
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <div className="heat-legend">
        <span>better</span>
        <span className="bar" style={{ background: `linear-gradient(90deg, ${colour(0)}, ${colour(0.5)}, ${colour(1)})` }} />
        <span>worse {metric}</span>
      </div>
    </figure>
  );
}
