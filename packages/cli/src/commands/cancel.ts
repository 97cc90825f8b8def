import { parse } from '../args';
import { UsageError, type Command } from '../command';

const command: Command = {
  summary: 'cancel a run (a queued job is removed; a running one is aborted)',
  usage: 'kvbench cancel RUN_ID|HASH [RUN_ID ...]',
  async run(argv, ctx) {
    const { positionals } = parse(argv, {});
    if (!positionals.length) throw new UsageError('give at least one run id');
    const api = ctx.api();
    for (const id of positionals) {
      const { data } = await api.request<Record<string, any>>('DELETE', `/api/runs/${encodeURIComponent(id)}`);
      ctx.out(`run ${data.id}: ${data.status} (${data.outcome})`);
    }
    return 0;
  },
};
export default command;
