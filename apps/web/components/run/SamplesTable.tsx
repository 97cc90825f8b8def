// Per-item samples: for generation tasks prompt, output, reference and whether it was correct.
import type { SampleRow } from '@kvbench/db';
import { num } from '../format';

const clip = (s: string | null, n = 400) => (s === null ? '–' : s.length > n ? `${s.slice(0, n)}…` : s);

export function SamplesTable({ samples }: { samples: SampleRow[] }) {
  if (!samples.length) return <p className="muted">No samples recorded.</p>;
  const hasOutput = samples.some((s) => s.output !== null);
  const hasReference = samples.some((s) => s.reference !== null);
  const hasCorrect = samples.some((s) => s.correct !== null);
  const hasNll = samples.some((s) => s.nll !== null);
  return (
    <div className="table-wrap">
      <table aria-label="Samples">
        <thead>
          <tr>
            <th scope="col" className="num">#</th>
            <th scope="col">Prompt</th>
            {hasOutput ? <th scope="col">Output</th> : null}
            {hasReference ? <th scope="col">Reference</th> : null}
            {hasCorrect ? <th scope="col">Correct</th> : null}
            {hasNll ? <th scope="col" className="num">NLL</th> : null}
          </tr>
        </thead>
        <tbody>
          {samples.map((s) => (
            <tr key={s.index}>
              <td className="num">{s.index}</td>
              <td className="wrap small">{clip(s.prompt)}</td>
              {hasOutput ? <td className="wrap small">{clip(s.output)}</td> : null}
              {hasReference ? <td className="wrap small">{clip(s.reference)}</td> : null}
              {hasCorrect ? <td>{s.correct === null ? '–' : s.correct ? <span className="delta-good">yes</span> : <span className="delta-bad">no</span>}</td> : null}
              {hasNll ? <td className="num">{num(s.nll)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
