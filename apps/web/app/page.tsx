// Home: the leaderboard. Server-rendered from Postgres; filters, sort and page live in the URL.
import { BoardFilters } from '../components/BoardFilters';
import { BoardTable } from '../components/BoardTable';
import { exportRow } from '../components/board-export';
import { DownloadButtons } from '../components/DownloadButtons';
import { QualityCharts } from '../components/charts/QualityCharts';
import { hrefWith, toSearchParams, type Params } from '../components/url';
import { loadBoard } from './_data/board';
import { chartData, FULL_PRECISION_VARIANT } from './_data/charts';
import { database } from './_data/db';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'kvbench — leaderboard' };

export default async function LeaderboardPage({ searchParams }: { searchParams: Promise<Params> }) {
  const params = toSearchParams(await searchParams);
  const db = await database();
  const board = await loadBoard(db, params);
  // The charts follow the filter when it names one model and benchmark, else the first row's pair.
  const one = (v: string | string[] | undefined) => (typeof v === 'string' ? v : Array.isArray(v) && v.length === 1 ? v[0] : undefined);
  const [chartModel, chartBenchmark] = (params.get('chart') ?? '').split('|');
  const model = chartModel || one(board.query.model) || board.rows[0]?.model || board.facets.pairs[0]?.model;
  const benchmark = chartBenchmark || one(board.query.benchmark) || board.rows.find((r) => r.model === model)?.benchmark || board.facets.pairs.find((p) => p.model === model)?.benchmark;
  const charts = model && benchmark ? await chartData(db, model, benchmark) : null;
  const pages = Math.max(1, Math.ceil(board.total / board.pageSize));
  const first = board.total ? (board.page - 1) * board.pageSize + 1 : 0;
  const last = Math.min(board.page * board.pageSize, board.total);
  return (
    <main>
      <h1>Leaderboard</h1>
      <p className="lede">
        Every finished run: a model, a benchmark and a key/value bit split of its KV cache. Lower perplexity and higher accuracy are better; “Δ vs fp16” is the change
        against the same model with a full-precision cache, and “vs fp16” the KV memory kept.
      </p>
      <BoardFilters params={params} facets={board.facets} />
      {board.error ? (
        <div className="errors" role="alert">
          Some filters were ignored: {board.error}
        </div>
      ) : null}
      <div className="toolbar">
        <span aria-live="polite">
          {board.total ? `Rows ${first}–${last} of ${board.total}` : 'No rows'}
        </span>
        <DownloadButtons rows={board.rows.map(exportRow)} basename={`kvbench-leaderboard-p${board.page}`} />
      </div>
      <BoardTable rows={board.rows} query={board.query} params={params} />
      <nav className="pager" aria-label="Pages">
        {board.page > 1 ? <a href={hrefWith('/', params, { page: board.page - 1 })}>← previous</a> : <span className="muted">← previous</span>}
        <span>
          page {board.page} of {pages}
        </span>
        {board.page < pages ? <a href={hrefWith('/', params, { page: board.page + 1 })}>next →</a> : <span className="muted">next →</span>}
      </nav>
      <section aria-labelledby="charts-h">
        <div className="toolbar">
          <h2 id="charts-h">Quality vs memory</h2>
          {board.facets.pairs.length > 1 ? (
            <form method="get" action="/" className="row">
              {[...params].filter(([k]) => k !== 'chart').map(([k, v], i) => (
                <input key={`${k}${i}`} type="hidden" name={k} value={v} />
              ))}
              <label className="inline">
                chart
                <select name="chart" defaultValue={model && benchmark ? `${model}|${benchmark}` : ''}>
                  {board.facets.pairs.map((p) => (
                    <option key={`${p.model}|${p.benchmark}`} value={`${p.model}|${p.benchmark}`}>
                      {p.model} · {p.benchmark}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" className="secondary">
                Show
              </button>
            </form>
          ) : null}
        </div>
        {charts ? (
          <>
            <QualityCharts model={charts.model} benchmark={charts.benchmark} metric={charts.metric} lowerIsBetter={charts.lowerIsBetter} points={charts.points} fullPrecisionVariant={FULL_PRECISION_VARIANT} />
            {charts.truncated ? <p className="chart-note">Showing the 500 configurations with the least KV memory.</p> : null}
          </>
        ) : (
          <p className="muted">Charts appear once runs have finished.</p>
        )}
      </section>
    </main>
  );
}
