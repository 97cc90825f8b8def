// The leaderboard table: one row per stored configuration; headers sort (links, so the URL keeps it).
import type { LeaderboardQuery } from '@kvbench/db';
import { deltaIsGood, type BoardEntry } from '../app/_data/board';
import { runDisplayLabel, variantText, dateTime, num, percent, signed } from './format';
import { hrefWith } from './url';

interface Column {
  label: string;
  sort?: string;
  num?: boolean;
  title?: string;
}

const COLUMNS: Column[] = [
  { label: 'Model', sort: 'model' },
  { label: 'Bits', sort: 'keyBits', title: 'key bits b_K and value bits b_V' },
  { label: 'Metric ± stderr', sort: 'score', num: true },
  { label: 'Δ vs fp16', num: true, title: 'difference to the same model with a full-precision cache' },
  { label: 'KV B/token', sort: 'kvBytesPerToken', num: true },
  { label: 'vs fp16', sort: 'ratioToFp16', num: true, title: 'KV memory as a share of an fp16 cache' },
  { label: 'Benchmark', sort: 'benchmark' },
  { label: 'Quantizer', title: 'backend; key axis/group size, value axis/group size, residual length (tok = per-token, ch = per-channel)' },
  { label: 'tok/s', sort: 'tokensPerSecond', num: true },
  { label: 'Provider' },
  { label: 'Finished', sort: 'finishedAt', title: 'UTC' },
  { label: 'Compare' },
];

function axis(a: string | null, g: number | null): string {
  if (!a) return '–';
  return `${a === 'per-channel' ? 'ch' : 'tok'}/${g ?? '–'}`;
}

export function BoardTable({ rows, query, params }: { rows: BoardEntry[]; query: LeaderboardQuery; params: URLSearchParams }) {
  const sort = query.sort ?? 'finishedAt';
  const order = query.order ?? (sort === 'score' || !query.sort ? 'desc' : 'asc');
  return (
    <div className="table-wrap">
      <table aria-label="Leaderboard" aria-rowcount={rows.length + 1}>
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = c.sort === sort;
              const nextOrder = active && order === 'asc' ? 'desc' : 'asc';
              return (
                <th key={c.label} className={c.num ? 'num' : undefined} title={c.title} scope="col" aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
                  {c.sort ? (
                    <a href={hrefWith('/', params, { sort: c.sort, order: nextOrder, page: null })}>
                      {c.label}
                      {active ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
                    </a>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-run={r.id}>
              <td>
                <a href={`/models/${encodeURIComponent(r.model)}`}>{r.model}</a>
              </td>
              <td>
                <a className="bits" href={`/runs/${r.id}`} aria-label={`run ${runDisplayLabel(r)} of ${r.model} on ${r.benchmark}`}>
                  {runDisplayLabel(r)}
                </a>
              </td>
              <td className="num" data-value={r.value ?? ''}>
                <span className="muted small">{r.metric} </span>
                {num(r.value)}
                {r.stderr !== null ? <span className="muted"> ± {num(r.stderr, 2)}</span> : null}
              </td>
              <td className={`num ${r.delta === null ? '' : deltaIsGood(r.metric, r.delta) ? 'delta-good' : 'delta-bad'}`} title={r.baseline ? `full precision ${num(r.baseline.value)} (${r.baseline.source === 'paired' ? 'same tokens, in this run' : 'fp16 run'})` : undefined}>
                {signed(r.delta)}
              </td>
              <td className="num">{num(r.kvBytesPerToken)}</td>
              <td className="num">{percent(r.ratioToFp16)}</td>
              <td>{r.benchmark}</td>
              <td className="small">
                {r.backend ? (
                  <>
                    {r.backend}{' '}
                    <span className="mono muted">
                      {r.backend === 'turbo' ? '' : `K ${axis(r.keyAxis, r.keyGroupSize)} V ${axis(r.valueAxis, r.valueGroupSize)} `}R{r.residualLength}
                      {variantText(r.variant) ? ` · ${variantText(r.variant)}` : ''}
                    </span>
                  </>
                ) : (
                  <span className="muted">full precision</span>
                )}
              </td>
              <td className="num">{num(r.tokensPerSecond, 3)}</td>
              <td>{r.providerUsed ?? r.provider}</td>
              <td className="small">{dateTime(r.finishedAt)}</td>
              <td>
                {r.partnerId ? (
                  <a href={`/compare?a=${r.id}&b=${r.partnerId}`} aria-label={`compare ${runDisplayLabel(r)} with ${r.partnerLabel}`}>
                    vs {r.partnerLabel}
                  </a>
                ) : (
                  <span className="muted">–</span>
                )}
              </td>
            </tr>
          ))}
          {rows.length === 0 ? (
            <tr>
              <td colSpan={COLUMNS.length} className="muted">
                No finished runs match. Submit one on the <a href="/submit">submit page</a>.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
