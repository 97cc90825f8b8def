import { handle, json } from '../../../../lib/http';
import { getSweepView } from '../../../../lib/runs';
import { getServices } from '../../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export const GET = handle(async (_request: Request, ctx: { params: Promise<{ id: string }> }) => {
  const { id } = await ctx.params;
  return json(await getSweepView(await getServices(), id));
});
