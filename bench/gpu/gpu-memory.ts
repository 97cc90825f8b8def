// Device memory in use, sampled by `nvidia-smi -lms 50` in a child process. Samples carry nvidia-smi's
// own timestamps, so they are attributed to the right phase even though ONNX Runtime's run() blocks
// this thread and the lines are read in bursts. Without nvidia-smi (CPU-only machines) every query
// answers null.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface MemorySample {
  t: number; // epoch ms
  mib: number;
}

/**
 * "2026/11/22 13:45:01.123, 1234" -> sample (nvidia-smi prints local time); a line without a readable
 * timestamp but ending in a number gets t = NaN (the caller uses the time it read the line).
 */
export function parseSmiLine(line: string): MemorySample | null {
  const text = line.trim();
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{1,6})\s*,\s*(\d+)/.exec(text);
  if (m) {
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
    const ms = Number(m[7].slice(0, 3).padEnd(3, '0'));
    return { t: new Date(y, mo - 1, d, h, mi, s, ms).getTime(), mib: Number(m[8]) };
  }
  const n = /,\s*(\d+)\s*$/.exec(text);
  return n ? { t: NaN, mib: Number(n[1]) } : null;
}

export class GpuMemorySampler {
  private proc: ChildProcess | null = null;
  /** Samples with nvidia-smi's timestamps as printed (t) and when this process read them (read). */
  private samples: (MemorySample & { read: number })[] = [];
  private buffer = '';
  /** Smallest (read - t) seen: lines are read in bursts while run() blocks, never before they were printed. */
  private minDelay = Infinity;
  available = false;

  constructor(private readonly gpu = process.env.KVB_GPU_INDEX ?? '0', private readonly intervalMs = 50) {}

  start(): void {
    try {
      this.proc = spawn('nvidia-smi', ['-i', this.gpu, '--query-gpu=timestamp,memory.used', '--format=csv,noheader,nounits', '-lms', String(this.intervalMs)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch {
      this.proc = null;
      return;
    }
    this.proc.on('error', () => {
      this.proc = null;
    });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      const read = Date.now();
      this.buffer += chunk;
      const lines = this.buffer.split('\n');
      this.buffer = lines.pop() ?? '';
      for (const line of lines) {
        const s = parseSmiLine(line);
        if (!s) continue;
        if (Number.isNaN(s.t)) s.t = read;
        else this.minDelay = Math.min(this.minDelay, read - s.t);
        this.samples.push({ ...s, read });
        this.available = true;
      }
    });
    // Never keep the process alive for the sampler.
    this.proc.unref();
    (this.proc.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /**
   * Sample time on this process's clock: nvidia-smi's timestamp, shifted when its clock or time zone
   * disagrees with ours by seconds (then the smallest read delay is that offset).
   */
  private time(s: MemorySample): number {
    return Number.isFinite(this.minDelay) && Math.abs(this.minDelay) > 2000 ? s.t + this.minDelay : s.t;
  }

  /** The most recent sample (MiB), or null. */
  latest(): number | null {
    return this.samples.length ? this.samples[this.samples.length - 1].mib : null;
  }

  /** Highest sample in [from, to] (epoch ms), or null when none fell there. */
  peak(from: number, to: number): number | null {
    let best: number | null = null;
    for (const s of this.samples) {
      const t = this.time(s);
      if (t >= from && t <= to && (best === null || s.mib > best)) best = s.mib;
    }
    return best;
  }

  count(from: number, to: number): number {
    return this.samples.filter((s) => {
      const t = this.time(s);
      return t >= from && t <= to;
    }).length;
  }

  stop(): void {
    this.proc?.kill('SIGTERM');
    this.proc = null;
  }
}

/** nvidia-smi's memory.used now (MiB) on $KVB_GPU_INDEX (default 0), or null where there is no nvidia-smi. */
export function memoryUsedMiB(): number | null {
  try {
    return Number(execFileSync('nvidia-smi', ['-i', process.env.KVB_GPU_INDEX ?? '0', '--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
}
