// Submit: one run or a sweep grid, checked live against the shared schema, previewed before launch.
import { AXES, BUDGET_SCORES, BUDGET_SOURCES, COMPUTE_DTYPES, DEFAULT_BIT_RANGE, KNOWN_BENCHMARKS, KNOWN_MODELS, PROVIDERS, ROTATIONS, RUN_BACKENDS, TURBO_SCHEME_NAMES } from '@kvbench/protocol';
import { SubmitForm } from '../../components/submit/SubmitForm';

export const metadata = { title: 'kvbench — submit' };

export default function SubmitPage() {
  const options = {
    models: KNOWN_MODELS.map((m) => ({ name: m.name, note: `${m.layers} layers` })),
    benchmarks: KNOWN_BENCHMARKS.map((b) => ({ name: b.name, protocol: b.protocol })),
    bits: [1, 2, 3, 4, 5, 6, 7, 8, 16],
    backends: [...RUN_BACKENDS],
    axes: [...AXES],
    providers: [...PROVIDERS],
    computeDtypes: [...COMPUTE_DTYPES],
    rotations: [...ROTATIONS],
    turboSchemes: [...TURBO_SCHEME_NAMES],
    budgetScores: [...BUDGET_SCORES],
    budgetSources: [...BUDGET_SOURCES],
    defaultBitRange: [...DEFAULT_BIT_RANGE],
  };
  return (
    <main>
      <h1>Submit</h1>
      <p className="lede">Pick the settings; a sweep runs every combination. Cells that already ran are reused, not run again.</p>
      <SubmitForm options={options} />
    </main>
  );
}
