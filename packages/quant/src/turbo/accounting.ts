// Bits and bytes of one TurboQuant-coded head vector (quantizers.md §8.3, §10.1, §10.3). Index payload
// b bits per rotated coordinate (the padded length for a zero-padded Walsh-Hadamard rotation), plus the
// stored norms: ν for TurboQuant_mse; ν and γ for TurboQuant_prod.

export type TurboMethod = 'mse' | 'prod';

export interface TurboVectorCost {
  /** Index and sign bits. */
  payloadBits: number;
  /** Norm bits (ν, and γ for prod). */
  normBits: number;
  totalBits: number;
  /** Packed bytes: ceil(payload/8) + norms. */
  bytes: number;
  /** totalBits / dim. */
  bitsPerElement: number;
}

export interface TurboCostInput {
  method: TurboMethod;
  bits: number;
  /** head_dim. */
  dim: number;
  /** Rotated length; default dim (a padded Walsh-Hadamard makes it the next power of two). */
  rotatedDim?: number;
  /** Bits of one stored norm; default 16 (fp16). */
  normBits?: number;
}

export function turboVectorCost(input: TurboCostInput): TurboVectorCost {
  const { method, bits, dim } = input;
  const rotated = input.rotatedDim ?? dim;
  const nb = input.normBits ?? 16;
  if (!Number.isInteger(bits) || bits < 1) throw new Error(`bits: must be a positive integer, got ${bits}`);
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim: must be a positive integer, got ${dim}`);
  if (rotated < dim) throw new Error(`rotatedDim: ${rotated} is smaller than dim ${dim}`);
  // prod: (b-1) bits per rotated coordinate for the MSE stage + one QJL sign per original coordinate.
  const payloadBits = method === 'mse' ? bits * rotated : (bits - 1) * rotated + dim;
  const normBits = method === 'mse' ? nb : (bits > 1 ? 2 : 1) * nb;
  const totalBits = payloadBits + normBits;
  return {
    payloadBits,
    normBits,
    totalBits,
    bytes: Math.ceil(payloadBits / 8) + Math.ceil(normBits / 8),
    bitsPerElement: totalBits / dim,
  };
}

/** KV bytes per token of a TurboQuant scheme: Σ over layers and KV heads of the K and V vector bytes. */
export function turboKvBytesPerToken(
  model: { layers: number; kvHeads: number; headDim: number },
  key: Omit<TurboCostInput, 'dim'>,
  value: Omit<TurboCostInput, 'dim'>,
): number {
  const k = turboVectorCost({ ...key, dim: model.headDim });
  const v = turboVectorCost({ ...value, dim: model.headDim });
  return model.layers * model.kvHeads * (k.bytes + v.bytes);
}
