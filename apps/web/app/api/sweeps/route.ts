import { listSweeps } from '@kvbench/db';
import { handle, json, readJson, requireWriteToken } from '../../../lib/http';
import { previewSweepSpec, submitSweep } from '../../../lib/runs';
import { getServices } from '../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Create a sweep, or with ?preview=1 only say what it would do (cells, already done, device classes, time). */
export const POST = handle(async (request: Request) => {
  const preview = ['1', 'true'].includes(new URL(request.url).searchParams.get('preview') ?? '');
  if (!preview) requireWriteToken(request);
  const body = await readJson(request);
  const s = await getServices();
  if (preview) return json({ preview: true, ...(await previewSweepSpec(s, body)) });
  const r = await submitSweep(s, body);
  return json(r, r.httpStatus);
});

export const GET = handle(async () => json({ sweeps: await listSweeps((await getServices()).db) }));
