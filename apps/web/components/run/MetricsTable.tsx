// Every metric a run recorded, with its standard error.
import { num } from '../format';

export function MetricsTable({ metrics }: { metrics: { name: string; value: number; stderr: number | null }[] }) {
  if (!metrics.length) return <p className="muted">No metrics (the run has not finished).</p>;
  return (
    <div className="table-wrap">
      <table aria-label="Metrics">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">Value</th>
            <th scope="col" className="num">Std. error</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map((m) => (
            <tr key={m.name}>
              <td>{m.name}</td>
              <td className="num">{num(m.value, 5)}</td>
              <td className="num">{num(m.stderr, 3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
