import { writeFileSync } from 'node:fs';
import { parse } from '../args';
import { UsageError, type Command } from '../command';
import { csv } from '../format';
import { BOARD_FLAGS, BOARD_HELP, boardQuery } from './board-query';

const COLUMNS = [
  'id', 'hash', 'model', 'benchmark', 'protocol', 'keyBits', 'valueBits', 'backend', 'keyGroupSize', 'valueGroupSize', 'keyAxis', 'valueAxis',
  'residualLength', 'limit', 'provider', 'providerUsed', 'device', 'metric', 'value', 'stderr', 'kvBytesPerToken', 'fp16BytesPerToken',
  'ratioToFp16', 'tokensPerSecond', 'wallSeconds', 'finishedAt',
];

const command: Command = {
  summary: 'export leaderboard rows with every metric as CSV or JSON',
  usage: `kvbench export [--format csv|json] [--out FILE] [filters]\n${BOARD_HELP}`,
  async run(argv, ctx) {
    const { values: v } = parse(argv, { ...BOARD_FLAGS, format: { type: 'string' }, out: { type: 'string' } }, false);
    const format = v.format ?? (v.out?.endsWith('.json') ? 'json' : 'csv');
    if (format !== 'csv' && format !== 'json') throw new UsageError(`--format: got ${JSON.stringify(format)}, allowed: csv, json`);
    const api = ctx.api();
    const rows: any[] = [];
    for (let page = 1; ; page++) {
      const q = boardQuery(v);
      q.set('page', String(page));
      q.set('pageSize', '500');
      q.set('metrics', '1');
      const board = await api.get<{ rows: any[]; total: number }>(`/api/leaderboard?${q}`);
      rows.push(...board.rows);
      if (rows.length >= board.total || board.rows.length === 0) break;
    }
    let text: string;
    if (format === 'json') text = JSON.stringify(rows, null, 2) + '\n';
    else {
      // lm-eval style metric columns: name and name_stderr
      const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
      const flat = rows.map((r) => {
        const o: Record<string, unknown> = { ...r };
        for (const m of metricNames) {
          o[m] = r.metrics?.[m]?.value;
          o[`${m}_stderr`] = r.metrics?.[m]?.stderr;
        }
        return o;
      });
      text = csv(flat, [...COLUMNS, ...metricNames.flatMap((m) => [m, `${m}_stderr`])]);
    }
    if (v.out) {
      writeFileSync(v.out, text);
      ctx.err(`wrote ${rows.length} row(s) to ${v.out}`);
    } else process.stdout.write(text);
    return 0;
  },
};
export default command;
