// The worker process's evaluation threads: one long-lived EvaluationHost per concurrent job (the
// engine's host keeps models and ORT sessions between jobs). A job goes to an idle host that already
// holds its model when there is one; the orchestrator orders sweep cells model-major, so one model's
// cells land back to back on the same host and the model is loaded once.
import type { EvalOptions, EvalResult, EvaluateControls, EvaluationHost, EvaluationHostOptions } from '@kvbench/engine';

export class EvaluationHosts {
  private readonly hosts: EvaluationHost[] = [];
  private engine: Promise<typeof import('@kvbench/engine')> | null = null;
  private closed = false;

  constructor(
    private readonly slots: number,
    private readonly options: EvaluationHostOptions = {},
  ) {}

  async evaluate(options: EvalOptions, controls: EvaluateControls = {}): Promise<EvalResult> {
    // The engine (and ONNX Runtime) loads on the first job, not at worker start.
    const engine = await (this.engine ??= import('@kvbench/engine'));
    if (this.closed) throw new Error('evaluation hosts: closed (the worker is shutting down)');
    // From here to host.evaluate() nothing awaits, so concurrent jobs never pick the same idle host.
    return this.pick(options.model, engine.createEvaluationHost).evaluate(options, controls);
  }

  private pick(model: string, create: (o: EvaluationHostOptions) => EvaluationHost): EvaluationHost {
    const idle = this.hosts.filter((h) => !h.busy);
    const holding = idle.find((h) => h.holds(model));
    if (holding) return holding;
    if (this.hosts.length < this.slots) {
      const host = create(this.options);
      this.hosts.push(host);
      return host;
    }
    // All hosts exist: an idle one (its model is evicted), else the one with the shortest queue.
    return idle[0] ?? [...this.hosts].sort((a, b) => a.stats().queued - b.stats().queued)[0];
  }

  /** Host counters summed (thread starts, model loads, session reuses, ...), for logs and tests. */
  stats(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const h of this.hosts) {
      for (const [k, v] of Object.entries(h.stats())) if (typeof v === 'number') total[k] = (total[k] ?? 0) + v;
    }
    return total;
  }

  /** Lets running jobs wind down, then ends the threads (after BullMQ's worker closed: no new jobs). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.hosts.map((h) => h.close()));
  }
}
