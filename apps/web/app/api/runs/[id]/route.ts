import { handle, intParam, json, requireWriteToken } from '../../../../lib/http';
import { cancelRun, getRunView } from '../../../../lib/runs';
import { getServices } from '../../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

type Ctx = { params: Promise<{ id: string }> };

/** A run with its metrics, per-layer statistics and samples (?samples=N, default 20). */
export const GET = handle(async (request: Request, ctx: Ctx) => {
  const { id } = await ctx.params;
  const samples = intParam(new URL(request.url).searchParams, 'samples', { min: 0, max: 10_000 });
  return json(await getRunView(await getServices(), id, { samples }));
});

/** Cancel: a queued job is removed, a running one is aborted by its worker. */
export const DELETE = handle(async (request: Request, ctx: Ctx) => {
  requireWriteToken(request);
  const { id } = await ctx.params;
  const r = await cancelRun(await getServices(), id);
  return json({ ...r.run, outcome: r.outcome });
});
