import { countRuns } from '@kvbench/db';
import { json } from '../../../lib/http';
import { getServices } from '../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** 200 when both the database and Redis answer, else 503 with which one did not. */
export async function GET() {
  const checks: Record<string, { ok: boolean; detail?: string }> = {};
  let runs: number | null = null;
  try {
    const s = await getServices();
    try {
      runs = await countRuns(s.db);
      checks.database = { ok: true };
    } catch (err) {
      checks.database = { ok: false, detail: (err as Error).message };
    }
    try {
      await s.queues.connection.ping();
      checks.redis = { ok: true };
    } catch (err) {
      checks.redis = { ok: false, detail: (err as Error).message };
    }
  } catch (err) {
    checks.database = { ok: false, detail: (err as Error).message };
  }
  const ok = Object.values(checks).every((c) => c.ok);
  return json({ ok, checks, runs, time: new Date().toISOString() }, ok ? 200 : 503);
}
