import type { Command } from '../command';

const command: Command = {
  summary: 'check that the API, its database and Redis answer',
  usage: 'kvbench health',
  async run(_argv, ctx) {
    const api = ctx.api();
    const res = await fetch(new URL('/api/health', api.baseUrl)).catch((err) => {
      throw new Error(`cannot reach ${api.baseUrl}: ${(err as Error).message}`);
    });
    const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; detail?: string }>; runs: number | null };
    for (const [name, c] of Object.entries(body.checks)) ctx.out(`${name}: ${c.ok ? 'ok' : `DOWN (${c.detail})`}`);
    ctx.out(`runs recorded: ${body.runs ?? '?'}`);
    return body.ok ? 0 : 1;
  },
};
export default command;
