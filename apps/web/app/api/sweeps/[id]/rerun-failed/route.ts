import { handle, json, requireWriteToken } from '../../../../../lib/http';
import { rerunFailed } from '../../../../../lib/runs';
import { getServices } from '../../../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Re-queue the failed and cancelled cells of a sweep (the same run rows: no duplicates). */
export const POST = handle(async (request: Request, ctx: { params: Promise<{ id: string }> }) => {
  requireWriteToken(request);
  const { id } = await ctx.params;
  return json(await rerunFailed(await getServices(), id));
});
