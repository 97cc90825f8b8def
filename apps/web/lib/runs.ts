// What the API does, as plain functions over (db, queues): the route handlers, the tests and the start
// script all call these. The HTTP layer only parses, authorizes and serializes.
import {
  createSweep,
  findRun,
  storedAllocation,
  getRunDetail,
  getSweep,
  leaderboard,
  LEADERBOARD_SORTS,
  newRunRow,
  planCells,
  previewSweep,
  requestCancel,
  requeueRun,
  sweepRunIds,
  upsertRun,
  type LeaderboardQuery,
  type LeaderboardSort,
  type Run,
} from '@kvbench/db';
import {
  RUN_BACKENDS,
  ValidationError,
  canonicalRun,
  expandSweep,
  planMemory,
  runLabel,
  runVariant,
  type DeviceClassName,
} from '@kvbench/protocol';
import { HttpError, intParam } from './http';
import type { Services } from './services';

/** The JSON of a run that every endpoint returns. */
export function runJson(run: Run) {
  return {
    id: run.id,
    hash: run.hash,
    status: run.status,
    model: run.model,
    benchmark: run.benchmark,
    protocol: run.protocol,
    keyBits: run.keyBits,
    valueBits: run.valueBits,
    /** protocol's runLabel: "K4V2", "K4V2 WHT", "TQ-KQV 3b", "budget 4 (spectral)" */
    label: runLabel({ ...run, ...runVariant(run.config) }),
    backend: run.backend,
    keyGroupSize: run.keyGroupSize,
    valueGroupSize: run.valueGroupSize,
    keyAxis: run.keyAxis,
    valueAxis: run.valueAxis,
    residualLength: run.residualLength,
    limit: run.limit,
    provider: run.provider,
    deviceClass: run.deviceClass,
    attempts: run.attempts,
    error: run.error,
    errorKind: run.errorKind,
    cancelRequested: run.cancelRequested,
    progress: {
      itemsDone: run.itemsDone,
      itemsTotal: run.itemsTotal,
      tokensDone: run.tokensDone,
      tokensPerSecond: run.tokensPerSecond,
      etaSeconds: run.etaSeconds,
    },
    result:
      run.status === 'succeeded'
        ? {
            metric: run.primaryMetric,
            value: run.primaryValue,
            stderr: run.primaryStderr,
            kvBytesPerToken: run.kvBytesPerToken,
            fp16BytesPerToken: run.fp16BytesPerToken,
            ratioToFp16: run.ratioToFp16,
            tokensPerSecond: run.tokensPerSecond,
            wallSeconds: run.wallSeconds,
            peakRssBytes: run.peakRssBytes,
            providerUsed: run.providerUsed,
            device: run.device,
            nonFinite: run.nonFinite,
          }
        : null,
    provenance: {
      versions: run.versions,
      modelArchitecture: run.modelArchitecture,
      weightsHash: run.weightsHash,
      dataHash: run.dataHash,
      benchmarkItems: run.benchmarkItems,
      workerId: run.workerId,
    },
    config: run.config,
    createdAt: run.createdAt,
    queuedAt: run.queuedAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    updatedAt: run.updatedAt,
  };
}
export type RunJson = ReturnType<typeof runJson>;

async function enqueueRuns(s: Services, runs: Pick<Run, 'id' | 'hash' | 'status' | 'deviceClass'>[]): Promise<string | null> {
  const items = runs.filter((r) => r.status === 'queued' && r.deviceClass).map((r) => ({ runId: r.id, hash: r.hash, deviceClass: r.deviceClass as DeviceClassName }));
  if (!items.length) return null;
  try {
    await s.queues.enqueue(items);
    return null;
  } catch (err) {
    // The rows are the truth; the workers' reconciler re-adds jobs for queued rows when Redis is back.
    return `queue unreachable (${(err as Error).message}); the run is recorded and will be queued when Redis answers`;
  }
}

export interface SubmitResult {
  /** 201 new run, 200 joined or reused, 202 recorded but not yet in the queue */
  httpStatus: 200 | 201 | 202;
  created: boolean;
  /** an identical run already succeeded: its result is returned, nothing is re-run */
  reused: boolean;
  warning: string | null;
  run: RunJson;
  plan: ReturnType<typeof planMemory>;
}

/**
 * Submits one run: validate, plan, upsert by hash (a finished identical run is returned, a queued or
 * running one joined, a failed or cancelled one re-queued), then enqueue with job id = hash.
 */
export async function submitRun(s: Services, input: unknown): Promise<SubmitResult> {
  const { config, hash } = canonicalRun(input);
  const plan = planMemory(config);
  if (!plan.deviceClass) throw new ValidationError([{ field: 'model', message: plan.reason }]);
  let { run, created } = await upsertRun(s.db, newRunRow(config, hash, plan.deviceClass));
  if (run.status === 'failed' || run.status === 'cancelled') run = (await requeueRun(s.db, run.id)) ?? run;
  const warning = await enqueueRuns(s, [run]);
  return {
    httpStatus: warning ? 202 : created ? 201 : 200,
    created,
    reused: run.status === 'succeeded',
    warning,
    run: runJson(run),
    plan,
  };
}

export async function previewSweepSpec(s: Services, input: unknown) {
  const expansion = expandSweep(input);
  return previewSweep(s.db, expansion);
}

/** Creates (or returns) the sweep and queues its cells model-major; cells already done are reused. */
export async function submitSweep(s: Services, input: unknown) {
  const expansion = expandSweep(input);
  const planned = planCells(expansion);
  const unplaceable = planned.map((p, i) => ({ p, c: expansion.cells[i] })).filter(({ p }) => !p.deviceClass);
  if (unplaceable.length) {
    const byModel = new Map(unplaceable.map(({ p, c }) => [c.config.model, p.reason]));
    throw new ValidationError([...byModel].map(([model, reason]) => ({ field: 'models', message: `${JSON.stringify(model)}: ${reason}` })));
  }
  const { sweep, created, runs, newRuns } = await createSweep(s.db, expansion, planned);
  // Failed or cancelled cells of an earlier identical run are left as they are: rerun-failed does that.
  const warning = await enqueueRuns(s, runs);
  const counts = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const r of runs) counts[r.status]++;
  return {
    httpStatus: (warning ? 202 : created ? 201 : 200) as 200 | 201 | 202,
    id: sweep.id,
    name: sweep.name,
    created,
    cells: runs.length,
    newRuns: newRuns.size,
    counts,
    warning,
    runs: runs.map((r) => ({ id: r.id, hash: r.hash, status: r.status, model: r.model, benchmark: r.benchmark, keyBits: r.keyBits, valueBits: r.valueBits, deviceClass: r.deviceClass })),
  };
}

export async function getRunView(s: Services, id: string, opts: { samples?: number } = {}) {
  const detail = await getRunDetail(s.db, id, opts);
  if (!detail) throw new HttpError(404, `no run ${JSON.stringify(id)}`);
  return {
    ...runJson(detail.run),
    metrics: detail.metrics.map(({ runId: _r, ...m }) => m),
    layerStats: detail.layerStats.map(({ runId: _r, ...l }) => l),
    samples: detail.samples.map(({ runId: _r, ...x }) => x),
    /** budget mode: the per-layer allocation read back from layer_stats / run_metrics and the config (null otherwise) */
    allocation: storedAllocation(detail.run.config, detail.metrics, detail.layerStats),
  };
}

/** DELETE /api/runs/:id: a queued run is cancelled and its job removed; a running one is signalled. */
export async function cancelRun(s: Services, id: string) {
  const found = await findRun(s.db, id);
  if (!found) throw new HttpError(404, `no run ${JSON.stringify(id)}`);
  if (found.status === 'succeeded' || found.status === 'failed' || found.status === 'cancelled') {
    return { run: runJson(found), outcome: 'already-finished' as const };
  }
  const run = (await requestCancel(s.db, found.id))!;
  let outcome: 'removed' | 'signalled' | 'absent' | 'queue-unreachable';
  try {
    outcome = await s.queues.cancel(run.deviceClass as DeviceClassName | null, run.hash);
  } catch {
    outcome = 'queue-unreachable';
  }
  return { run: runJson((await findRun(s.db, run.id))!), outcome };
}

export async function getSweepView(s: Services, id: string) {
  const sweep = await getSweep(s.db, id);
  if (!sweep) throw new HttpError(404, `no sweep ${JSON.stringify(id)}`);
  return { id: sweep.sweep.id, name: sweep.sweep.name, spec: sweep.sweep.spec, createdAt: sweep.sweep.createdAt, cellCount: sweep.sweep.cellCount, counts: sweep.counts, cells: sweep.cells };
}

/** Re-queues the sweep's failed and cancelled cells (same rows, same hashes: no duplicates). */
export async function rerunFailed(s: Services, sweepId: string) {
  const sweep = await getSweep(s.db, sweepId);
  if (!sweep) throw new HttpError(404, `no sweep ${JSON.stringify(sweepId)}`);
  const ids = await sweepRunIds(s.db, sweepId, ['failed', 'cancelled']);
  const requeued: Run[] = [];
  for (const id of ids) {
    const r = await requeueRun(s.db, id);
    if (r) requeued.push(r);
  }
  const warning = await enqueueRuns(s, requeued);
  return { id: sweepId, requeued: requeued.length, runs: requeued.map((r) => ({ id: r.id, hash: r.hash, status: r.status })), warning };
}

/** GET /api/leaderboard query string -> LeaderboardQuery, naming the field on bad values. */
export function parseLeaderboardParams(params: URLSearchParams): LeaderboardQuery {
  const q: LeaderboardQuery = {};
  const all = (name: string) => params.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (all('model').length) q.model = all('model');
  if (all('benchmark').length) q.benchmark = all('benchmark');
  if (all('backend').length) {
    q.backend = all('backend');
    for (const b of q.backend) if (!(RUN_BACKENDS as readonly string[]).includes(b)) throw new ValidationError([{ field: 'backend', message: `got ${JSON.stringify(b)}, allowed: ${RUN_BACKENDS.join(', ')}` }]);
  }
  if (params.get('protocol')) q.protocol = params.get('protocol')!;
  if (params.get('provider')) q.provider = params.get('provider')!;
  const bits = params.get('bits');
  if (bits) {
    const m = /^K(\d+)V(\d+)$/i.exec(bits.trim());
    if (!m) throw new ValidationError([{ field: 'bits', message: `got ${JSON.stringify(bits)}, expected a label like K4V2` }]);
    q.keyBits = Number(m[1]);
    q.valueBits = Number(m[2]);
  }
  q.keyBits = intParam(params, 'keyBits', { min: 1, max: 16 }) ?? q.keyBits;
  q.valueBits = intParam(params, 'valueBits', { min: 1, max: 16 }) ?? q.valueBits;
  const sort = params.get('sort');
  if (sort) {
    if (!(sort in LEADERBOARD_SORTS)) throw new ValidationError([{ field: 'sort', message: `got ${JSON.stringify(sort)}, allowed: ${Object.keys(LEADERBOARD_SORTS).join(', ')}` }]);
    q.sort = sort as LeaderboardSort;
  }
  const order = params.get('order');
  if (order) {
    if (order !== 'asc' && order !== 'desc') throw new ValidationError([{ field: 'order', message: 'allowed: asc, desc' }]);
    q.order = order;
  }
  q.page = intParam(params, 'page', { min: 1 });
  q.pageSize = intParam(params, 'pageSize', { min: 1, max: 500 });
  q.withMetrics = params.get('metrics') === '1' || params.get('metrics') === 'true';
  return q;
}

export async function leaderboardView(s: Services, params: URLSearchParams) {
  return leaderboard(s.db, parseLeaderboardParams(params));
}
