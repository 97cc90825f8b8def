// Memory accounting (quantizers.md §10): what the quantized KV cache holds, next to the fp16 baseline.
// Codes are packed densely (packing.ts), so a b-bit code costs b bits for every b in 1..8 (no 5/6 -> 8
// or 3 -> 3.2 rounding as in HQQ) and a 1.58-bit (ternary) code costs 2 (widths.ts storageBits); each
// group adds one scale and one zero/shift in the metadata dtype.

import { QuantConfigError, quantizerConfig, type KvQuantConfig, type QuantizerConfig } from './config';
import { validateShape } from './layout';
import { packedBytes } from './packing';
import type { QuantizedTensor } from './quantize';
import { metaBits } from './rounding';
import { storageBits } from './widths';

/** The part of a model's shape the KV cache depends on. */
export interface ModelKvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

function checkModel(model: ModelKvShape): void {
  for (const field of ['layers', 'kvHeads', 'headDim'] as const) {
    const v = model?.[field];
    if (!Number.isInteger(v) || v < 1) throw new QuantConfigError(`model.${field}`, `got ${v}, allowed: a positive integer`);
  }
}

/** Bytes per token of an fp16/bf16 KV cache: keys and values, 2 bytes each: 2*L*H*D*2. */
export function fp16KvBytesPerToken(model: ModelKvShape): number {
  checkModel(model);
  return 2 * model.layers * model.kvHeads * model.headDim * 2;
}

/** Storage bits per element: stored code bits + (scale + zero bits) / groupSize. */
export function bitsPerElement(config: Partial<QuantizerConfig>, metaBitsOverride?: number): number {
  const c = quantizerConfig(config);
  const mb = metaBitsOverride ?? metaBits(c.metaDtype);
  return storageBits(c.bits) + (2 * mb) / c.groupSize;
}

/**
 * KV bytes per token held in quantized form, summed over layers and over keys and values (§10.2):
 * sum_l H*D*[(b_K + 2m/G_K) + (b_V + 2m/G_V)]/8 (b = stored code bits: 2 for 1.58), with m the metadata bits (default: each config's
 * metaDtype, 16 for fp16/bf16, 32 for fp32; pass metaBits to override). `kv` null gives the fp16
 * baseline 2*L*H*D*2; an array gives one KvQuantConfig per layer (length = layers).
 * Packing padding is per tensor, not per token; see quantizedTensorBytes.
 */
export function kvBytesPerToken(model: ModelKvShape, kv: KvQuantConfig | readonly KvQuantConfig[] | null, metaBits?: number): number {
  checkModel(model);
  if (kv === null) return fp16KvBytesPerToken(model);
  if (metaBits !== undefined && (!Number.isInteger(metaBits) || metaBits < 0)) {
    throw new QuantConfigError('metaBits', `got ${metaBits}, allowed: a non-negative integer (16 for fp16/bf16, 32 for fp32)`);
  }
  const perLayer = Array.isArray(kv) ? kv : null;
  if (perLayer && perLayer.length !== model.layers) {
    throw new QuantConfigError('kv', `has ${perLayer.length} per-layer configs, the model has ${model.layers} layers`);
  }
  let bits = 0;
  for (let l = 0; l < model.layers; l++) {
    const layer = perLayer ? perLayer[l] : (kv as KvQuantConfig);
    bits += bitsPerElement(layer.key, metaBits) + bitsPerElement(layer.value, metaBits);
  }
  return (model.kvHeads * model.headDim * bits) / 8;
}

/** Exact bytes of one quantized tensor. */
export interface TensorBytes {
  /** Packed codes, including the zero padding of the last block of 8 codes. */
  codes: number;
  scales: number;
  zeros: number;
  /** Side list of non-finite inputs: 4-byte index + 2-byte fp16 value each. */
  nonFinite: number;
  total: number;
  /** The same tensor in fp16. */
  fp16: number;
}

export const NON_FINITE_ENTRY_BYTES = 6;

/** Bytes a tensor of this shape occupies once quantized with this config (no non-finite inputs). */
export function quantizedTensorBytes(shape: readonly number[], config: Partial<QuantizerConfig>): TensorBytes {
  const c = quantizerConfig(config);
  const [B, H, S, D] = validateShape(shape);
  const numel = B * H * S * D;
  if (numel % c.groupSize !== 0) throw new QuantConfigError('groupSize', `got ${c.groupSize}, allowed: a divisor of numel=${numel}`);
  const groups = numel / c.groupSize;
  const metaBytes = metaBits(c.metaDtype) / 8;
  const codes = packedBytes(numel, storageBits(c.bits));
  const scales = groups * metaBytes;
  const zeros = groups * metaBytes;
  return { codes, scales, zeros, nonFinite: 0, total: codes + scales + zeros, fp16: numel * 2 };
}

/**
 * Bytes a quantized tensor actually holds: its packed code buffer, scales and zeros at the width of the
 * metadata dtype (they are kept in Float32Arrays for arithmetic, but hold only metaDtype values), and
 * the non-finite side list.
 */
export function heldBytes(qt: QuantizedTensor): TensorBytes {
  const metaBytes = metaBits(qt.config.metaDtype) / 8;
  const codes = qt.codes.byteLength;
  const scales = qt.scales.length * metaBytes;
  const zeros = qt.zeros.length * metaBytes;
  const nonFinite = qt.nonFinite * NON_FINITE_ENTRY_BYTES;
  const numel = qt.shape[0] * qt.shape[1] * qt.shape[2] * qt.shape[3];
  return { codes, scales, zeros, nonFinite, total: codes + scales + zeros + nonFinite, fp16: numel * 2 };
}
