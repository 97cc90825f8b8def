'use client';
// The paper's spectrum figure from an analyze run's layer_stats rows: per layer, the singular values of
// each KV head's cached keys and values by index, drawn as a min-max band across heads with the mean
// line, keys next to values; plus the per-layer norms of W_K / W_V and of the caches, and the verdict.
// Rows: tensor k, metric `k.headsv.<min|max|mean>.<i>` (or kPreRope.*); tensor v, `v.headsv.*`;
// norms `wk.frobenius`, `wv.frobenius`, `k.frobenius`, `v.frobenius` (engine analysis/run-analysis.ts).
import { useId, useState } from 'react';
import { Area, Bar, BarChart, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { num } from './format';

export interface SpectrumStat {
  layer: number;
  tensor: 'k' | 'v';
  metric: string;
  value: number;
}

const KEY_COLOUR = '#2456c9';
const VALUE_COLOUR = '#d97706';

/** Per index: [min, max] band and mean of one tensor's per-head spectra in one layer. */
export function spectrumBand(stats: readonly SpectrumStat[], layer: number, prefix: string): { index: number; band: [number, number]; mean: number }[] {
  const re = new RegExp(`^${prefix.replace('.', '\\.')}\\.headsv\\.(min|max|mean)\\.(\\d+)$`);
  const at = new Map<number, { min?: number; max?: number; mean?: number }>();
  for (const s of stats) {
    if (s.layer !== layer) continue;
    const m = re.exec(s.metric);
    if (!m) continue;
    const i = Number(m[2]);
    const e = at.get(i) ?? {};
    e[m[1] as 'min' | 'max' | 'mean'] = s.value;
    at.set(i, e);
  }
  return [...at.entries()]
    .filter(([, e]) => e.min !== undefined && e.max !== undefined && e.mean !== undefined)
    .sort((a, b) => a[0] - b[0])
    .map(([index, e]) => ({ index, band: [e.min!, e.max!] as [number, number], mean: e.mean! }));
}

/** Layers where K > V for each norm the rows carry, as "K > V in 5/5 layers (W_K vs W_V, Frobenius), ...". */
export function spectraVerdict(stats: readonly SpectrumStat[]): string | null {
  const layers = [...new Set(stats.map((s) => s.layer))];
  if (!layers.length) return null;
  const value = (layer: number, tensor: 'k' | 'v', metric: string) => stats.find((s) => s.layer === layer && s.tensor === tensor && s.metric === metric)?.value;
  const parts: string[] = [];
  for (const [label, k, v] of [
    ['W_K vs W_V, Frobenius', 'wk.frobenius', 'wv.frobenius'],
    ['W_K vs W_V, spectral', 'wk.spectral', 'wv.spectral'],
    ['cache, Frobenius', 'k.frobenius', 'v.frobenius'],
    ['cache, spectral', 'k.spectral', 'v.spectral'],
  ] as const) {
    const have = layers.filter((l) => value(l, 'k', k) !== undefined && value(l, 'v', v) !== undefined);
    if (have.length) parts.push(`${have.filter((l) => value(l, 'k', k)! > value(l, 'v', v)!).length}/${have.length} (${label})`);
  }
  return parts.length ? `K > V in ${parts.join(', ')}` : null;
}

export function ModelSpectra({ stats, title = 'Singular values of cached keys and values' }: { stats: SpectrumStat[]; title?: string }) {
  const layers = [...new Set(stats.filter((s) => /\.headsv\./.test(s.metric)).map((s) => s.layer))].sort((a, b) => a - b);
  const [layer, setLayer] = useState(layers[0] ?? 0);
  const [preRope, setPreRope] = useState(false);
  const [log, setLog] = useState(true);
  const layerId = useId();
  const verdict = spectraVerdict(stats);
  if (!layers.length) return <p className="muted">No spectra recorded: run an analysis (kvbench submit --protocol analyze) on a data sample.</p>;

  const keys = spectrumBand(stats, layer, preRope ? 'kPreRope' : 'k');
  const values = spectrumBand(stats, layer, 'v');
  const count = Math.max(keys.length, values.length);
  // A log axis cannot show 0: clamp to a tiny positive floor (singular values of a rank-deficient sample).
  const floor = (x: number | undefined) => (x === undefined ? null : log ? Math.max(x, 1e-6) : x);
  const data = Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    kBand: keys[i] ? [floor(keys[i].band[0]), floor(keys[i].band[1])] : null,
    kMean: floor(keys[i]?.mean),
    vBand: values[i] ? [floor(values[i].band[0]), floor(values[i].band[1])] : null,
    vMean: floor(values[i]?.mean),
  }));
  const norms = [...new Set(stats.map((s) => s.layer))]
    .sort((a, b) => a - b)
    .map((l) => {
      const of = (t: 'k' | 'v', m: string) => stats.find((s) => s.layer === l && s.tensor === t && s.metric === m)?.value ?? null;
      return { layer: `L${l}`, WK: of('k', 'wk.frobenius'), WV: of('v', 'wv.frobenius'), K: of('k', 'k.frobenius'), V: of('v', 'v.frobenius') };
    });

  return (
    <figure className="panel" style={{ margin: 0 }} aria-label={title}>
      <div className="toolbar" style={{ margin: 0 }}>
        <figcaption className="chart-title">{title}</figcaption>
        <label className="inline" htmlFor={layerId}>
          layer
          <select id={layerId} value={layer} onChange={(e) => setLayer(Number(e.target.value))}>
            {layers.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={preRope} onChange={(e) => setPreRope(e.target.checked)} /> keys before RoPE
        </label>
        <label className="inline">
          <input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} /> log scale
        </label>
      </div>
      <div className="chart">
        <ResponsiveContainer width="100%" height={320}>
          <ComposedChart data={data} margin={{ top: 8, right: 12, bottom: 30, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="index" label={{ value: 'singular value index (per KV head)', position: 'insideBottom', offset: -16 }} />
            <YAxis
              scale={log ? 'log' : 'auto'}
              domain={log ? ['auto', 'auto'] : [0, 'auto']}
              allowDataOverflow={log}
              tickFormatter={(v: number) => num(v, 3)}
              width={64}
              label={{ value: 'singular value', angle: -90, position: 'insideLeft', offset: 4, style: { textAnchor: 'middle' } }}
            />
            <Tooltip formatter={(v) => (Array.isArray(v) ? `${num(Number(v[0]), 4)} – ${num(Number(v[1]), 4)}` : num(Number(v), 4))} />
            <Legend verticalAlign="top" height={26} />
            <Area dataKey="kBand" name={`keys${preRope ? ' (pre-RoPE)' : ''}: min–max across heads`} stroke="none" fill={KEY_COLOUR} fillOpacity={0.2} isAnimationActive={false} />
            <Line dataKey="kMean" name="keys: mean over heads" stroke={KEY_COLOUR} strokeWidth={2} dot={false} isAnimationActive={false} />
            <Area dataKey="vBand" name="values: min–max across heads" stroke="none" fill={VALUE_COLOUR} fillOpacity={0.2} isAnimationActive={false} />
            <Line dataKey="vMean" name="values: mean over heads" stroke={VALUE_COLOUR} strokeWidth={2} dot={false} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <div className="chart" style={{ minHeight: 240 }}>
        <ResponsiveContainer width="100%" height={240}>
          <BarChart data={norms} margin={{ top: 8, right: 12, bottom: 30, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="layer" label={{ value: 'layer', position: 'insideBottom', offset: -16 }} />
            <YAxis scale="log" domain={['auto', 'auto']} tickFormatter={(v: number) => num(v, 3)} width={64} label={{ value: 'Frobenius norm', angle: -90, position: 'insideLeft', offset: 4, style: { textAnchor: 'middle' } }} />
            <Tooltip formatter={(v) => num(Number(v), 4)} />
            <Legend verticalAlign="top" height={26} />
            <Bar dataKey="WK" name="W_K" fill={KEY_COLOUR} fillOpacity={0.55} isAnimationActive={false} />
            <Bar dataKey="WV" name="W_V" fill={VALUE_COLOUR} fillOpacity={0.55} isAnimationActive={false} />
            <Bar dataKey="K" name="cached K" fill={KEY_COLOUR} isAnimationActive={false} />
            <Bar dataKey="V" name="cached V" fill={VALUE_COLOUR} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      {verdict ? <p className="chart-note">{verdict}</p> : null}
    </figure>
  );
}
