import { handle, json } from '../../../../lib/http';
import { queueDepth } from '../../../../lib/queues';
import { getServices } from '../../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** One device class's queue: counts by state and `backlog` = waiting + prioritized + active (KEDA reads it). */
export const GET = handle(async (_request: Request, ctx: { params: Promise<{ name: string }> }) => {
  const { name } = await ctx.params;
  return json(await queueDepth(await getServices(), name));
});
