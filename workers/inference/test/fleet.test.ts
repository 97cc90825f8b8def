// The fleet simulation in small (scripts/fleet-sim.ts runs the full one): three real worker processes of
// three device classes, 24 cells over stories260K and random-weight models routed to cpu, gpu-24g and
// gpu-80g, workers SIGKILLed and SIGTERMed at random and restarted. Every cell must complete exactly
// once, on the class the planner chose.
import { describe, expect, it } from 'vitest';
import { formatFleetReport, runFleetSimulation } from '../src/fleet/index';

describe('fleet simulation (worker processes, real Redis and Postgres)', () => {
  it('24 cells on cpu, gpu-24g and gpu-80g workers killed and restarted: each cell completes once, on its class', async () => {
    const report = await runFleetSimulation({
      workers: { cpu: 1, 'gpu-24g': 1, 'gpu-80g': 1 },
      cells: 24,
      killEveryMs: 3000,
      seed: 7,
      // about a minute on an idle 2-core machine; generous for one shared with other test runs
      timeoutMs: 240_000,
      log: () => {},
    });
    const table = formatFleetReport(report);
    if (!report.ok) console.log(table);
    for (const c of report.checks) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
    // the faults really happened: both kinds of kill, and the slots came back
    expect(report.kills.sigkill).toBeGreaterThanOrEqual(1);
    expect(report.kills.sigterm).toBeGreaterThanOrEqual(1);
    expect(report.restarts).toBeGreaterThanOrEqual(2);
    // every class got work and finished all of it
    expect(report.byClass.map((c) => c.deviceClass)).toEqual(['cpu', 'gpu-24g', 'gpu-80g']);
    for (const c of report.byClass) expect(c.succeeded, c.deviceClass).toBe(c.cells);
    expect(report.byClass.reduce((n, c) => n + c.cells, 0)).toBe(24);
    expect(report.retries.jobStarts).toBeGreaterThanOrEqual(24);
    expect(table).toMatch(/cells\/min/);
  }, 300_000);
});
