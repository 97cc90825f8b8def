import { keyFirstComparison } from '@kvbench/db';
import { HttpError, handle, json } from '../../../../../lib/http';
import { getServices } from '../../../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Every (b, b') cell of the sweep paired with (b', b): headline difference and its (paired) stderr. */
export const GET = handle(async (_request: Request, ctx: { params: Promise<{ id: string }> }) => {
  const { id } = await ctx.params;
  const report = await keyFirstComparison((await getServices()).db, id);
  if (!report) throw new HttpError(404, `no sweep ${JSON.stringify(id)}`);
  return json(report);
});
