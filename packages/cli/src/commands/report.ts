// `kvbench report --sweep ID`: the key-first comparison of a sweep over the HTTP API
// (GET /api/sweeps/:id/key-first): every (b, b') cell with b > b' next to its mirror (b', b), the
// difference of the headline metric and its standard error (paired over the same items where the runs
// stored per-item values, else independent; the column says which).
import { parse } from '../args';
import { UsageError, type Command } from '../command';
import { table } from '../format';

/** The parts of GET /api/sweeps/:id/key-first this command prints (db/src/queries/key-first.ts has the whole shape). */
interface Cell {
  keyBits: number;
  valueBits: number;
  status: string;
  value: number | null;
}
export interface KeyFirstReport {
  pairs: {
    model: string;
    benchmark: string;
    backend: string | null;
    keyGroupSize: number | null;
    valueGroupSize: number | null;
    keyAxis: string | null;
    residualLength: number | null;
    metric: string | null;
    keyFirst: Cell;
    valueFirst: Cell;
    difference: number | null;
    stderr: number | null;
    stderrMethod: 'paired' | 'independent' | 'none';
    pairedItems: number;
    keyFirstBetter: boolean | null;
  }[];
  unpaired: { keyBits: number; valueBits: number }[];
  summary: { pairs: number; compared: number; keyFirstBetter: number; paired: number; independent: number };
}

const num = (x: number | null | undefined, digits = 4) => (x === null || x === undefined ? '-' : x.toFixed(digits));

export function formatKeyFirst(r: KeyFirstReport): string {
  const rows = r.pairs.map((p) => ({
    model: p.model,
    benchmark: p.benchmark,
    backend: p.backend ?? '-',
    groups: p.keyGroupSize === null ? '-' : `${p.keyAxis ?? ''} ${p.keyGroupSize}/${p.valueGroupSize}`,
    residual: p.residualLength ?? '-',
    metric: p.metric ?? '-',
    kFirst: `K${p.keyFirst.keyBits}V${p.keyFirst.valueBits} ${num(p.keyFirst.value)}`,
    vFirst: `K${p.valueFirst.keyBits}V${p.valueFirst.valueBits} ${num(p.valueFirst.value)}`,
    diff: num(p.difference),
    se: num(p.stderr),
    method: p.stderrMethod === 'paired' ? `paired (${p.pairedItems})` : p.stderrMethod,
    better: p.keyFirstBetter === null ? (p.keyFirst.status !== 'succeeded' ? p.keyFirst.status : p.valueFirst.status) : p.keyFirstBetter ? 'K-first' : 'V-first',
  }));
  const s = r.summary;
  const lines = [
    table(rows, [
      { key: 'model' },
      { key: 'benchmark' },
      { key: 'backend' },
      { key: 'groups', title: 'axis G(K/V)' },
      { key: 'residual', align: 'right' },
      { key: 'metric' },
      { key: 'kFirst', title: 'key-first' },
      { key: 'vFirst', title: 'value-first' },
      { key: 'diff', title: 'K-first - V-first', align: 'right' },
      { key: 'se', title: 'stderr', align: 'right' },
      { key: 'method', title: 'stderr from' },
      { key: 'better', title: 'better' },
    ]),
    '',
    `${s.pairs} pairs, ${s.compared} compared: key-first better in ${s.keyFirstBetter}/${s.compared} (stderr paired in ${s.paired}, independent in ${s.independent})`,
  ];
  if (r.unpaired.length) lines.push(`without a mirror cell: ${r.unpaired.map((u) => `K${u.keyBits}V${u.valueBits}`).join(', ')}`);
  return lines.join('\n');
}

const command: Command = {
  summary: 'key-first comparison of a sweep: (b, b\') vs (b\', b) with paired standard errors',
  usage: `kvbench report --sweep ID [--json]
  --sweep ID   the sweep to report (kvbench sweep prints its id)
  --json       print the API response`,
  async run(argv, ctx) {
    const { values: v } = parse(argv, { sweep: { type: 'string' }, json: { type: 'boolean' } }, false);
    if (!v.sweep) throw new UsageError('--sweep ID is required');
    const data = await ctx.api().get<KeyFirstReport>(`/api/sweeps/${encodeURIComponent(v.sweep)}/key-first`);
    ctx.out(v.json ? JSON.stringify(data, null, 2) : formatKeyFirst(data));
    return 0;
  },
};
export default command;
