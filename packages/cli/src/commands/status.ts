import { parse } from '../args';
import type { Command } from '../command';
import { bytes, duration, label, table } from '../format';
import { runLine, watchRun, watchSweep } from '../watch';

const command: Command = {
  summary: 'show a run (id or hash), a sweep (--sweep ID), or the recent runs',
  usage: `kvbench status [RUN_ID|HASH] [--sweep SWEEP_ID] [--watch] [--json] [--status running] [--limit N]`,
  async run(argv, ctx) {
    const { values: v, positionals } = parse(argv, {
      sweep: { type: 'string' },
      watch: { type: 'boolean' },
      json: { type: 'boolean' },
      status: { type: 'string' },
      limit: { type: 'string' },
    });
    const api = ctx.api();
    if (v.sweep) {
      if (v.watch) return watchSweep(api, ctx, v.sweep);
      const s = await api.get<Record<string, any>>(`/api/sweeps/${encodeURIComponent(v.sweep)}`);
      if (v.json) return ctx.out(JSON.stringify(s, null, 2)), 0;
      ctx.out(`sweep ${s.name ?? ''} ${s.id}: ${Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(', ')}`);
      ctx.out(table(s.cells.map((c: any) => ({ ...c, bits: label(c), score: c.primaryValue, kv: bytes(c.kvBytesPerToken) })), [
        { key: 'id' }, { key: 'status' }, { key: 'model' }, { key: 'benchmark' }, { key: 'bits' }, { key: 'backend' }, { key: 'score', align: 'right' }, { key: 'kv', title: 'KV/token', align: 'right' }, { key: 'error' },
      ]));
      return 0;
    }
    const id = positionals[0];
    if (id) {
      if (v.watch) return watchRun(api, ctx, id);
      const r = await api.get<Record<string, any>>(`/api/runs/${encodeURIComponent(id)}`);
      if (v.json) return ctx.out(JSON.stringify(r, null, 2)), 0;
      ctx.out(`run ${r.id}  ${r.status}  hash ${r.hash}`);
      ctx.out(runLine(r as never));
      ctx.out(`config: ${JSON.stringify(r.config)}`);
      if (r.result) {
        ctx.out(`KV ${bytes(r.result.kvBytesPerToken)}/token (${(r.result.ratioToFp16 * 100).toFixed(1)}% of fp16), ${Math.round(r.result.tokensPerSecond)} tok/s, ${duration(r.result.wallSeconds)} on ${r.result.device} (${r.result.providerUsed})`);
        ctx.out(table(r.metrics, [{ key: 'name' }, { key: 'value', align: 'right' }, { key: 'stderr', align: 'right' }]));
      }
      if (r.error) ctx.out(`error (${r.errorKind}): ${r.error}`);
      return 0;
    }
    const qs = new URLSearchParams();
    if (v.status) qs.set('status', v.status);
    if (v.limit) qs.set('limit', v.limit);
    const { runs } = await api.get<{ runs: any[] }>(`/api/runs?${qs}`);
    if (v.json) return ctx.out(JSON.stringify(runs, null, 2)), 0;
    ctx.out(table(runs.map((r) => ({ ...r, bits: label(r), progress: r.status === 'running' && r.progress.itemsTotal ? `${r.progress.itemsDone}/${r.progress.itemsTotal}` : '', score: r.result?.value })), [
      { key: 'id' }, { key: 'status' }, { key: 'model' }, { key: 'benchmark' }, { key: 'bits' }, { key: 'deviceClass', title: 'class' }, { key: 'progress', align: 'right' }, { key: 'score', align: 'right' },
    ]));
    return 0;
  },
};
export default command;
