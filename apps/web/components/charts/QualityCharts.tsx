'use client';
// The two charts of one model and benchmark: the Pareto scatter of every run, and the b_K x b_V heatmap
// of one setting variant (picked here; the full-precision run appears in every variant's grid).
import { useId, useState } from 'react';
import { BitsHeatmap } from './BitsHeatmap';
import { ParetoChart } from './ParetoChart';
import type { QualityPoint } from './quality-point';

export interface QualityChartsProps {
  model: string;
  benchmark: string;
  metric: string;
  lowerIsBetter: boolean;
  points: QualityPoint[];
  fullPrecisionVariant: string;
}

export function QualityCharts({ model, benchmark, metric, lowerIsBetter, points, fullPrecisionVariant }: QualityChartsProps) {
  const variants = [...new Set(points.map((p) => p.variant))].filter((v) => v !== fullPrecisionVariant);
  const countOf = (v: string) => points.filter((p) => p.variant === v).length;
  const [variant, setVariant] = useState(() => [...variants].sort((a, b) => countOf(b) - countOf(a))[0] ?? fullPrecisionVariant);
  const selectId = useId();
  const gridPoints = points.filter((p) => p.variant === variant || p.variant === fullPrecisionVariant);
  return (
    <div className="stack">
      <div className="grid-2">
        <ParetoChart points={points} metric={metric} lowerIsBetter={lowerIsBetter} title={`${metric} vs KV memory — ${model} · ${benchmark}`} />
        <div className="stack">
          <BitsHeatmap points={gridPoints} metric={metric} lowerIsBetter={lowerIsBetter} title={`${metric} by key bits × value bits — ${model} · ${benchmark}`} />
          {variants.length > 1 ? (
            <label className="inline" htmlFor={selectId}>
              heatmap settings
              <select id={selectId} value={variant} onChange={(e) => setVariant(e.target.value)}>
                {variants.map((v) => (
                  <option key={v} value={v}>
                    {v} ({countOf(v)} runs)
                  </option>
                ))}
              </select>
            </label>
          ) : variants.length === 1 ? (
            <p className="chart-note">settings: {variants[0]}</p>
          ) : null}
        </div>
      </div>
    </div>
  );
}
