// The worker process's evaluation loops: long-lived EvaluationHosts (the engine's host keeps models and
// ORT sessions between jobs), at most one per concurrent job in each of two lanes:
// - 'thread': a worker thread of this process, for every run by default;
// - 'process': a child process, for WebGPU runs whose cache keeps rows reserved ahead. Those run with
//   ONNX Runtime's size-exact WebGPU buffer cache, which is process-wide and never frees a size, so
//   only sessions that reserve rows may share it (routeForRows; docs/deploy.md).
// A job goes to an idle host of its lane that already holds its model when there is one; the
// orchestrator orders sweep cells model-major, so one model's cells land back to back on the same host.
// Idle hosts of the other lane are closed when a lane takes a job, so the device holds one copy of the
// weights at a time.
import type { EvalOptions, EvalResult, EvaluateControls, EvaluationHost, EvaluationHostOptions } from '@kvbench/engine';
import { reservedRowsOptions, type CacheRowsSetting } from './eval-options';

export type Lane = 'thread' | 'process';
type Engine = typeof import('@kvbench/engine');

/** Where a run goes and the options it runs with there. */
export type Route = (options: EvalOptions, engine: Engine) => { lane: Lane; options: EvalOptions };

/**
 * 'auto' reserves rows only for runs whose documents may reach this many tokens (maxTokens). Measured through
 * the worker's hosts on the H100 (16 layers of Llama-3.2-1B, float16; bench/results/gpu-worker-lanes.md): at
 * 1k tokens reserved rows made the step 0.80x (slower) for both the fp16 cache and K4V2, at 8k 2.05-2.07x
 * (fp16) and 0.98-1.05x (K4V2); 4 layers in float32 at 4k: 1.47x (fp16), 1.00x (K4V2).
 */
export const RESERVE_MIN_TOKENS = 4096;

/**
 * The worker's routing by $KVBENCH_KV_ROWS: 'exact' keeps every run in a thread with exact rows; 'auto'
 * (default) sends the WebGPU runs that can reserve rows (engine.kvRowsFor) and are long enough
 * (RESERVE_MIN_TOKENS) to the process lane with rows reserved; 'reserve' sends every WebGPU run there (a run
 * that cannot reserve fails naming kvRows). Other providers always stay in a thread: the CPU's plain
 * attention cannot reserve, and CUDA was not measured.
 */
export function routeForRows(rows: CacheRowsSetting): Route {
  return (options, engine) => {
    if (rows === 'exact' || options.provider !== 'webgpu') return { lane: 'thread', options };
    if (rows === 'auto') {
      if (options.maxTokens < RESERVE_MIN_TOKENS) return { lane: 'thread', options };
      let reserve: boolean;
      try {
        reserve = engine.kvRowsFor(options).rows === 'reserve';
      } catch {
        reserve = false; // a bad model or policy fails in the job itself, with its own error
      }
      if (!reserve) return { lane: 'thread', options };
    }
    return { lane: 'process', options: { ...options, ...reservedRowsOptions() } };
  };
}

export class EvaluationHosts {
  private readonly hosts: { host: EvaluationHost; lane: Lane }[] = [];
  /** Counters of hosts closed on a lane switch. */
  private readonly retired: Record<string, number> = {};
  private engine: Promise<Engine> | null = null;
  private closed = false;

  constructor(
    private readonly slots: number,
    private readonly options: EvaluationHostOptions = {},
    private readonly route: Route = routeForRows('auto'),
  ) {}

  async evaluate(options: EvalOptions, controls: EvaluateControls = {}): Promise<EvalResult> {
    // The engine (and ONNX Runtime) loads on the first job, not at worker start.
    const engine = await (this.engine ??= import('@kvbench/engine'));
    if (this.closed) throw new Error('evaluation hosts: closed (the worker is shutting down)');
    const routed = this.route(options, engine);
    // From here to host.evaluate() nothing awaits, so concurrent jobs never pick the same idle host.
    return this.pick(routed.lane, options.model, engine.createEvaluationHost).evaluate(routed.options, controls);
  }

  private pick(lane: Lane, model: string, create: (o: EvaluationHostOptions) => EvaluationHost): EvaluationHost {
    for (const other of this.hosts.filter((h) => h.lane !== lane && !h.host.busy)) {
      this.hosts.splice(this.hosts.indexOf(other), 1);
      addCounters(this.retired, other.host.stats());
      void other.host.close();
    }
    const mine = this.hosts.filter((h) => h.lane === lane).map((h) => h.host);
    const idle = mine.filter((h) => !h.busy);
    const holding = idle.find((h) => h.holds(model));
    if (holding) return holding;
    if (mine.length < this.slots) {
      const host = create({ ...this.options, isolation: lane });
      this.hosts.push({ host, lane });
      return host;
    }
    // All hosts of the lane exist: an idle one (its model is evicted), else the one with the shortest queue.
    return idle[0] ?? [...mine].sort((a, b) => a.stats().queued - b.stats().queued)[0];
  }

  /** Host counters summed (thread starts, model loads, session reuses, ...), for logs and tests. */
  stats(): Record<string, number> {
    const total = { ...this.retired };
    for (const { host } of this.hosts) addCounters(total, host.stats());
    return total;
  }

  /** The live hosts by lane, with the process each runs in (after its last job), for logs and tests. */
  lanes(): { lane: Lane; pid: number; loadedModels: string[] }[] {
    return this.hosts.map(({ host, lane }) => {
      const { pid, loadedModels } = host.stats();
      return { lane, pid, loadedModels };
    });
  }

  /** Lets running jobs wind down, then ends the threads and processes (after BullMQ's worker closed: no new jobs). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.hosts.map(({ host }) => host.close()));
  }
}

function addCounters(total: Record<string, number>, stats: object): void {
  for (const [k, v] of Object.entries(stats)) if (typeof v === 'number' && k !== 'pid') total[k] = (total[k] ?? 0) + v;
}
