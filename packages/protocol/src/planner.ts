// The memory planner: weights + KV cache at the chosen bits, context and batch -> the smallest device
// class that fits, or the reason why none does.
import { kvBytesPerToken } from '@kvbench/quant';
import type { KvQuantConfig } from '@kvbench/quant';
import type { ModelShape } from './models';
import { findModel } from './models';
import { DEVICE_CLASSES, type DeviceClass, type DeviceClassName } from './queues';
import { bitsLabel, isFullPrecision, type RunConfig } from './run-config';

const GiB = 1024 ** 3;
/** Runtime, activations, logits, ORT arenas: a fixed allowance plus a share of the weights. */
const RUNTIME_OVERHEAD_BYTES = 0.5 * GiB;
const OVERHEAD_FRACTION = 0.1;

export interface MemoryPlan {
  deviceClass: DeviceClassName | null;
  /** why this class, or why none fits */
  reason: string;
  weightsBytes: number;
  kvBytes: number;
  totalBytes: number;
  contextTokens: number;
  kvBytesPerToken: number;
  fp16KvBytesPerToken: number;
  shapeKnown: boolean;
}

/** The engine's KvQuantConfig for a canonical run config (null = full precision). */
export function runKvQuantConfig(c: RunConfig): KvQuantConfig | null {
  if (isFullPrecision(c)) return null;
  const common = { backend: c.backend!, metaDtype: c.metaDtype!, hqqMode: c.hqqMode ?? 'faithful' };
  return {
    key: { ...common, bits: c.keyBits, axis: c.keyAxis!, groupSize: c.keyGroupSize! },
    value: { ...common, bits: c.valueBits, axis: c.valueAxis!, groupSize: c.valueGroupSize! },
  };
}

export function shapeOf(c: Pick<RunConfig, 'model' | 'modelShape'>): ModelShape | null {
  const known = findModel(c.model);
  if (known) return { layers: known.layers, kvHeads: known.kvHeads, headDim: known.headDim, params: known.params, weightBytes: known.weightBytes };
  return c.modelShape ?? null;
}

/** Longest sequence one item can reach: ppl-decode cuts documents to maxTokens; the others append maxTokens. */
export function contextTokens(c: RunConfig): number {
  return c.protocol === 'ppl-decode' || c.protocol === 'analyze' ? c.maxTokens : c.prompt + c.maxTokens;
}

export function fp16KvBytesPerToken(shape: Pick<ModelShape, 'layers' | 'kvHeads' | 'headDim'>): number {
  return 2 * shape.layers * shape.kvHeads * shape.headDim * 2;
}

export function planMemory(c: RunConfig, classes: readonly DeviceClass[] = DEVICE_CLASSES): MemoryPlan {
  const shape = shapeOf(c);
  const T = contextTokens(c);
  const candidates = classes.filter((d) => (c.provider === 'cpu' ? d.kind === 'cpu' : d.kind === 'gpu'));
  if (!shape) {
    const fallback = candidates[0]?.name ?? null;
    return {
      deviceClass: fallback,
      reason: `model shape unknown (local model resolved by the worker); planned for ${fallback}`,
      weightsBytes: 0, kvBytes: 0, totalBytes: 0, contextTokens: T, kvBytesPerToken: 0, fp16KvBytesPerToken: 0, shapeKnown: false,
    };
  }
  const fp16 = fp16KvBytesPerToken(shape);
  const quant = runKvQuantConfig(c);
  const perToken = quant ? kvBytesPerToken(shape, quant) : fp16;
  // Worst case the full-precision residual holds min(R, T) tokens (benchmarks.md cache policy).
  const residual = quant ? Math.min(c.residualLength ?? 0, T) : 0;
  const kvBytes = c.batch * ((T - residual) * perToken + residual * fp16);
  const weightsBytes = shape.params * shape.weightBytes;
  const totalBytes = Math.ceil((weightsBytes + kvBytes) * (1 + OVERHEAD_FRACTION) + RUNTIME_OVERHEAD_BYTES);
  const base = { weightsBytes, kvBytes, totalBytes, contextTokens: T, kvBytesPerToken: perToken, fp16KvBytesPerToken: fp16, shapeKnown: true };
  const need = `needs ${gib(totalBytes)} (weights ${gib(weightsBytes)} + KV ${gib(kvBytes)} at ${bitsLabel(c)}, ${T} tokens x batch ${c.batch}, +${OVERHEAD_FRACTION * 100}% and ${gib(RUNTIME_OVERHEAD_BYTES)} runtime)`;
  const fit = candidates.find((d) => totalBytes <= d.memoryBytes);
  if (fit) return { ...base, deviceClass: fit.name, reason: `${need}; ${fit.name} has ${gib(fit.memoryBytes)}` };
  const largest = candidates[candidates.length - 1];
  const reason = largest
    ? `fits no ${c.provider === 'cpu' ? 'CPU' : 'GPU'} class: ${need}; the largest, ${largest.name}, has ${gib(largest.memoryBytes)}`
    : `no device class serves provider ${c.provider}`;
  return { ...base, deviceClass: null, reason };
}

export function gib(bytes: number): string {
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < GiB) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / GiB).toFixed(1)} GiB`;
}
