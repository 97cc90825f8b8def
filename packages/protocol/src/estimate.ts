// Rough time estimates for the sweep preview. Measured throughput of earlier runs of the same model and
// class (from the database) replaces the guess when there is one.
import type { DeviceClassName } from './queues';
import type { ModelShape } from './models';
import type { RunConfig } from './run-config';
import { isFullPrecision } from './run-config';

/** Tokens one run feeds through the model (a full-precision reference pass doubles quantized runs). */
export function tokensPerRun(c: RunConfig): number {
  const perItem =
    c.protocol === 'ppl-decode' || c.protocol === 'analyze' ? c.maxTokens : c.protocol === 'gen-exact' ? c.prompt * (1 + (c.fewShot ?? 0)) + c.maxTokens : c.prompt + 4 * 24;
  // An analyze run makes one float64 reference pass over its sample, quantizer or not.
  return c.limit * perItem * c.batch * (isFullPrecision(c) || c.protocol === 'analyze' ? 1 : 2);
}

/** A guess of decode tokens/s by class and model size: memory-bandwidth bound, capped by per-step overhead. */
export function guessTokensPerSecond(deviceClass: DeviceClassName | null, shape: ModelShape | null): number {
  const bytes = shape ? shape.params * shape.weightBytes : 2e9;
  if (deviceClass === 'cpu' || deviceClass === null) return Math.min(1500, 10e9 / bytes);
  const bandwidth = deviceClass === 'gpu-24g' ? 0.5e12 : deviceClass === 'gpu-80g' ? 1.5e12 : 3e12;
  return Math.min(300, (0.5 * bandwidth) / bytes);
}

export function estimateRunSeconds(c: RunConfig, tokensPerSecond: number): number {
  return tokensPerRun(c) / Math.max(tokensPerSecond, 1e-6) + 2; // + model load/graph build
}
