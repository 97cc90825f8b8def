import { parse } from '../args';
import { UsageError, type Command } from '../command';
import { watchSweep } from '../watch';

const command: Command = {
  summary: "re-queue a sweep's failed and cancelled cells (same rows, no duplicates)",
  usage: 'kvbench rerun-failed SWEEP_ID [--wait]',
  async run(argv, ctx) {
    const { values: v, positionals } = parse(argv, { wait: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('give one sweep id');
    const api = ctx.api();
    const { data } = await api.request<Record<string, any>>('POST', `/api/sweeps/${encodeURIComponent(positionals[0])}/rerun-failed`);
    ctx.out(`re-queued ${data.requeued} cell(s) of sweep ${data.id}`);
    return v.wait ? watchSweep(api, ctx, data.id) : 0;
  },
};
export default command;
