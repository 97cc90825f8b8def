// Live progress for runs and sweeps: polls the API (the database is the truth) and draws bars.
import type { ApiClient } from './api';
import type { CommandContext } from './command';
import { bar, duration, label as runLabelOf } from './format';

interface RunView {
  id: string;
  status: string;
  model: string;
  benchmark: string;
  keyBits: number;
  valueBits: number;
  backend?: string | null;
  /** runLabel, as the API gives it */
  label?: string;
  config?: unknown;
  error: string | null;
  progress: { itemsDone: number | null; itemsTotal: number | null; tokensPerSecond: number | null; etaSeconds: number | null };
  result: { metric: string | null; value: number | null } | null;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runLine(r: RunView): string {
  const label = `${runLabelOf(r)} ${r.model} ${r.benchmark}`;
  const p = r.progress;
  if (r.status === 'running' && p.itemsTotal) {
    return `${label}  ${bar(p.itemsDone ?? 0, p.itemsTotal)} ${p.itemsDone ?? 0}/${p.itemsTotal} items  ${Math.round(p.tokensPerSecond ?? 0)} tok/s  ETA ${duration(p.etaSeconds)}`;
  }
  if (r.status === 'succeeded' && r.result) return `${label}  succeeded  ${r.result.metric} = ${r.result.value?.toPrecision(5)}`;
  if (r.status === 'failed') return `${label}  failed: ${r.error ?? ''}`;
  return `${label}  ${r.status}`;
}

class Screen {
  private lines = 0;
  private last = '';
  private lastAt = 0;
  constructor(private ctx: CommandContext) {}
  draw(text: string, final = false) {
    if (this.ctx.tty) {
      const clear = this.lines ? `\x1b[${this.lines}A\x1b[J` : '';
      process.stdout.write(`${clear}${text}\n`);
      this.lines = text.split('\n').length;
    } else if (text !== this.last && (final || Date.now() - this.lastAt > 5000 || !text.includes('%'))) {
      this.ctx.out(text);
      this.last = text;
      this.lastAt = Date.now();
    }
  }
}

/** Follows one run until it finishes; exit code 0 if it succeeded. */
export async function watchRun(api: ApiClient, ctx: CommandContext, id: string, intervalMs = 1000): Promise<number> {
  const screen = new Screen(ctx);
  for (;;) {
    const r = await api.get<RunView>(`/api/runs/${encodeURIComponent(id)}`);
    screen.draw(runLine(r), FINAL.has(r.status));
    if (FINAL.has(r.status)) return r.status === 'succeeded' ? 0 : 1;
    await sleep(intervalMs);
  }
}

interface SweepView {
  id: string;
  name: string | null;
  counts: Record<string, number>;
  cells: (RunView & { itemsDone: number | null; itemsTotal: number | null; tokensPerSecond: number | null; etaSeconds: number | null })[];
}

/** Follows a sweep until every cell is finished; exit code 0 if all succeeded. */
export async function watchSweep(api: ApiClient, ctx: CommandContext, id: string, intervalMs = 1000): Promise<number> {
  const screen = new Screen(ctx);
  for (;;) {
    const s = await api.get<SweepView>(`/api/sweeps/${encodeURIComponent(id)}`);
    const total = s.cells.length;
    const finished = s.cells.filter((c) => FINAL.has(c.status)).length;
    const c = s.counts;
    const lines = [`sweep ${s.name ?? s.id}  ${bar(finished, total)} ${finished}/${total} cells  (${c.succeeded} ok, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.queued} queued)`];
    for (const cell of s.cells.filter((x) => x.status === 'running').slice(0, 8)) {
      lines.push(`  ${runLine({ ...cell, progress: { itemsDone: cell.itemsDone, itemsTotal: cell.itemsTotal, tokensPerSecond: cell.tokensPerSecond, etaSeconds: cell.etaSeconds }, result: null })}`);
    }
    screen.draw(lines.join('\n'), finished === total);
    if (finished === total) return c.succeeded === total ? 0 : 1;
    await sleep(intervalMs);
  }
}
