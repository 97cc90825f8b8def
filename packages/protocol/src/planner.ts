// The memory planner: weights + KV cache at the chosen bits, context and batch -> the smallest device
// class that fits, or the reason why none does.
import { DEFAULT_QUANTIZER, kvBytesPerToken, metaBits, nextPowerOfTwo, turboKvBytesPerToken } from '@kvbench/quant';
import type { KvQuantConfig, TurboMethod } from '@kvbench/quant';
import type { ModelShape } from './models';
import { findModel } from './models';
import { DEVICE_CLASSES, type DeviceClass, type DeviceClassName } from './queues';
import { DEFAULT_TURBO_SCHEME, isFullPrecision, runLabel, type RunConfig, type TurboSchemeName } from './run-config';

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
  /** How kvBytesPerToken was reckoned when it is not the exact uniform figure (budget mode: an estimate). */
  kvNote: string | null;
}

/**
 * The engine's KvQuantConfig for a canonical run config (null = full precision). Backend turbo keeps a
 * quantizer config only to carry its bits (quant.key.bits / quant.value.bits; the other fields are the
 * defaults and unused). Budget mode with a group budget carries the group budget as the group size
 * (the allocator then replaces it per layer).
 */
export function runKvQuantConfig(c: RunConfig): KvQuantConfig | null {
  if (isFullPrecision(c)) return null;
  if (c.backend === 'turbo') {
    return { key: { ...DEFAULT_QUANTIZER, bits: c.keyBits }, value: { ...DEFAULT_QUANTIZER, bits: c.valueBits } };
  }
  const common = { backend: c.backend!, metaDtype: c.metaDtype!, hqqMode: c.hqqMode ?? 'faithful' };
  return {
    key: { ...common, bits: c.keyBits, axis: c.keyAxis!, groupSize: c.keyGroupSize ?? c.groupBudget! },
    value: { ...common, bits: c.valueBits, axis: c.valueAxis!, groupSize: c.valueGroupSize ?? c.groupBudget! },
  };
}

/** TurboQuant's method per kind in each scheme (KV: mse/mse, KQV: mse/prod, QKQV: prod/prod). */
export function turboMethods(scheme: TurboSchemeName): { key: TurboMethod; value: TurboMethod } {
  return { key: scheme === 'QKQV' ? 'prod' : 'mse', value: scheme === 'KV' ? 'mse' : 'prod' };
}

/**
 * KV bytes per token of a quantized run: exact for the grouped quantizers (a rotation stores nothing
 * more) and for TurboQuant (b bits per coordinate of the Walsh-Hadamard-rotated vector, zero-padded to a
 * power of two, plus fp16 norms); an estimate in budget mode: the budget's bits on every layer, with the
 * group budget (or the group sizes) for scales and zeros. The allocation decides the stored size there.
 */
export function quantizedKvBytesPerToken(c: RunConfig, shape: Pick<ModelShape, 'layers' | 'kvHeads' | 'headDim'>): { perToken: number; note: string | null } {
  if (c.backend === 'turbo') {
    const scheme = c.turboScheme ?? DEFAULT_TURBO_SCHEME;
    const m = turboMethods(scheme);
    const rotatedDim = nextPowerOfTwo(shape.headDim);
    const perToken = turboKvBytesPerToken(shape, { method: m.key, bits: c.keyBits, rotatedDim }, { method: m.value, bits: c.valueBits, rotatedDim });
    return { perToken, note: `TurboQuant ${scheme}: K ${m.key}, V ${m.value}; ${c.keyBits}/${c.valueBits} bits per rotated coordinate (${rotatedDim}) + fp16 norms` };
  }
  const quant = runKvQuantConfig(c)!;
  if (c.budget !== undefined) {
    const m = 2 * metaBits(quant.key.metaDtype);
    const perElement = 2 * c.budget + m / quant.key.groupSize + m / quant.value.groupSize;
    return {
      perToken: (shape.layers * shape.kvHeads * shape.headDim * perElement) / 8,
      note: `estimate: a uniform ${c.budget} bits on every layer${c.groupBudget ? ` with groups of ${c.groupBudget}` : ''}; the per-layer allocation decides the stored size (1.58 bits is stored in 2)`,
    };
  }
  return { perToken: kvBytesPerToken(shape, quant), note: null };
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
      weightsBytes: 0, kvBytes: 0, totalBytes: 0, contextTokens: T, kvBytesPerToken: 0, fp16KvBytesPerToken: 0, shapeKnown: false, kvNote: null,
    };
  }
  const fp16 = fp16KvBytesPerToken(shape);
  const quant = isFullPrecision(c) ? null : quantizedKvBytesPerToken(c, shape);
  const perToken = quant ? quant.perToken : fp16;
  // Worst case the full-precision residual holds min(R, T) tokens (benchmarks.md cache policy).
  const residual = quant ? Math.min(c.residualLength ?? 0, T) : 0;
  const kvBytes = c.batch * ((T - residual) * perToken + residual * fp16);
  const weightsBytes = shape.params * shape.weightBytes;
  const totalBytes = Math.ceil((weightsBytes + kvBytes) * (1 + OVERHEAD_FRACTION) + RUNTIME_OVERHEAD_BYTES);
  const base = { weightsBytes, kvBytes, totalBytes, contextTokens: T, kvBytesPerToken: perToken, fp16KvBytesPerToken: fp16, shapeKnown: true, kvNote: quant?.note ?? null };
  const need = `needs ${gib(totalBytes)} (weights ${gib(weightsBytes)} + KV ${gib(kvBytes)} at ${runLabel(c)}${c.budget !== undefined ? ', estimated' : ''}, ${T} tokens x batch ${c.batch}, +${OVERHEAD_FRACTION * 100}% and ${gib(RUNTIME_OVERHEAD_BYTES)} runtime)`;
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
