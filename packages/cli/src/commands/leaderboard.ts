import { parse } from '../args';
import type { Command } from '../command';
import { bytes, label, table } from '../format';
import { BOARD_FLAGS, BOARD_HELP, boardQuery } from './board-query';

const command: Command = {
  summary: 'the leaderboard (succeeded runs), as a table or --json',
  usage: `kvbench leaderboard [filters] [--page N] [--page-size N] [--json]\n${BOARD_HELP}`,
  async run(argv, ctx) {
    const { values: v } = parse(argv, { ...BOARD_FLAGS, page: { type: 'string' }, 'page-size': { type: 'string' }, json: { type: 'boolean' } }, false);
    const q = boardQuery(v);
    if (v.page) q.set('page', v.page);
    q.set('pageSize', v['page-size'] ?? '50');
    if (v.json) q.set('metrics', '1');
    const board = await ctx.api().get<{ rows: any[]; total: number; page: number; pageSize: number }>(`/api/leaderboard?${q}`);
    if (v.json) return ctx.out(JSON.stringify(board, null, 2)), 0;
    ctx.out(table(board.rows.map((r) => ({
      ...r,
      bits: label(r),
      score: r.value,
      pm: r.stderr ?? '',
      kv: bytes(r.kvBytesPerToken),
      ratio: r.ratioToFp16 == null ? '' : `${(r.ratioToFp16 * 100).toFixed(1)}%`,
      groups: r.keyGroupSize ? `${r.keyGroupSize}/${r.valueGroupSize}` : '',
      tps: r.tokensPerSecond == null ? '' : Math.round(r.tokensPerSecond),
    })), [
      { key: 'model' }, { key: 'benchmark' }, { key: 'bits' }, { key: 'backend' }, { key: 'groups', title: 'G K/V' }, { key: 'metric' },
      { key: 'score', align: 'right' }, { key: 'pm', title: '± stderr', align: 'right' }, { key: 'kv', title: 'KV/token', align: 'right' },
      { key: 'ratio', title: 'of fp16', align: 'right' }, { key: 'tps', title: 'tok/s', align: 'right' }, { key: 'providerUsed', title: 'provider' },
    ]));
    const pages = Math.max(1, Math.ceil(board.total / board.pageSize));
    ctx.out(`page ${board.page}/${pages}, ${board.total} row(s)`);
    return 0;
  },
};
export default command;
