// The leaderboard's filter form: a plain GET form, so every filter lands in the URL (shareable) and
// works without JavaScript.
import { RUN_BACKENDS } from '@kvbench/protocol';
import type { Facets } from '../app/_data/board';

export interface BoardFiltersProps {
  params: URLSearchParams;
  facets: Facets;
}

export function BoardFilters({ params, facets }: BoardFiltersProps) {
  const v = (k: string) => params.get(k) ?? '';
  return (
    <form method="get" action="/" className="panel row" role="search" aria-label="Filter the leaderboard">
      <label>
        search
        <input type="search" name="q" defaultValue={v('q')} placeholder="e.g. stories K4V2 hqq" size={18} />
      </label>
      <label>
        model
        <select name="model" defaultValue={v('model')}>
          <option value="">all models</option>
          {facets.models.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <label>
        benchmark
        <select name="benchmark" defaultValue={v('benchmark')}>
          <option value="">all benchmarks</option>
          {facets.benchmarks.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
      </label>
      <label>
        backend
        <select name="backend" defaultValue={v('backend')}>
          <option value="">all backends</option>
          {RUN_BACKENDS.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
      </label>
      <label>
        bits
        <input type="text" name="bits" defaultValue={v('bits')} placeholder="K4V2" size={6} pattern="[Kk]\d+[Vv]\d+" title="a label like K4V2" />
      </label>
      <label>
        rows per page
        <select name="pageSize" defaultValue={v('pageSize') || '50'}>
          {['25', '50', '100', '200'].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </label>
      {params.get('sort') ? <input type="hidden" name="sort" value={v('sort')} /> : null}
      {params.get('order') ? <input type="hidden" name="order" value={v('order')} /> : null}
      <button type="submit">Apply</button>
      <a className="button secondary" href="/">
        Reset
      </a>
    </form>
  );
}
