import { listRuns } from '@kvbench/db';
import { RUN_STATUSES, ValidationError, type RunStatus } from '@kvbench/protocol';
import { handle, intParam, json, readJson, requireWriteToken } from '../../../lib/http';
import { runJson, submitRun } from '../../../lib/runs';
import { getServices } from '../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Submit one run. 201 new, 200 joined an identical queued/running run or reused a finished one. */
export const POST = handle(async (request: Request) => {
  requireWriteToken(request);
  const body = await readJson(request);
  const r = await submitRun(await getServices(), body);
  return json({ ...r.run, created: r.created, reused: r.reused, warning: r.warning, plan: r.plan }, r.httpStatus);
});

/** Recent runs, newest first (?status=running&limit=50). */
export const GET = handle(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const status = params.get('status');
  if (status && !(RUN_STATUSES as readonly string[]).includes(status)) {
    throw new ValidationError([{ field: 'status', message: `allowed: ${RUN_STATUSES.join(', ')}` }]);
  }
  const runs = await listRuns((await getServices()).db, { status: (status as RunStatus) ?? undefined, limit: intParam(params, 'limit', { min: 1, max: 1000 }) });
  return json({ runs: runs.map(runJson) });
});
