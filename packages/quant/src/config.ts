// The quantizer configuration shared by every layer of kvbench (engine, protocol, workers, dashboard).
// Keys and values each get their own QuantizerConfig: bits, backend, layout and group size are independent.

import { ALLOWED_BITS, isCodeWidth } from './widths';

export const BACKENDS = ['quanto', 'hqq'] as const;
export type QuantBackend = (typeof BACKENDS)[number];

/**
 * Group layouts over a [batch, kvHeads, seq, headDim] tensor (quantizers.md §2):
 * - per-token: G consecutive elements of the flat tensor (along headDim; G may be a multiple of headDim)
 *   = Quanto axis 0 = HQQ axis 1.
 * - per-channel: KIVI, per (batch, head, channel), blocks of G consecutive tokens.
 * - quanto-per-channel: Quanto axis -1 (blocks of G rows of the [B*H*S, D] view, crossing heads).
 * - hqq-per-channel: HQQ axis 0 (columns of the [G, N/G] view, strided across all heads).
 */
export const AXES = ['per-token', 'per-channel', 'quanto-per-channel', 'hqq-per-channel'] as const;
export type GroupAxis = (typeof AXES)[number];

export const META_DTYPES = ['fp32', 'fp16', 'bf16'] as const;
export type MetaDtype = (typeof META_DTYPES)[number];

/** faithful: reproduce the reference's quirks (global early stop, returned zero); clean: best zero per group. */
export const HQQ_MODES = ['faithful', 'clean'] as const;
export type HqqMode = (typeof HQQ_MODES)[number];

export { MAX_BITS, MIN_BITS } from './widths';

export interface QuantizerConfig {
  bits: number; // an integer 1..8, or 1.58 (ternary, stored in 2 bits): widths.ts
  backend: QuantBackend;
  axis: GroupAxis;
  groupSize: number;
  metaDtype: MetaDtype;
  hqqMode: HqqMode; // used by backend 'hqq' only
}

export interface KvQuantConfig {
  key: QuantizerConfig;
  value: QuantizerConfig;
}

export const DEFAULT_QUANTIZER: QuantizerConfig = {
  bits: 4,
  backend: 'quanto',
  axis: 'per-token',
  groupSize: 64,
  metaDtype: 'fp16',
  hqqMode: 'faithful',
};

/** Thrown for any invalid configuration; `field` names the offending field (e.g. "key.bits"). */
export class QuantConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'QuantConfigError';
  }
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new QuantConfigError(field, `got ${JSON.stringify(value)}, allowed: ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Validates and fills defaults; `prefix` is prepended to field names in errors ("key", "value"). */
export function quantizerConfig(input: Partial<QuantizerConfig>, prefix = ''): QuantizerConfig {
  const f = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const c = { ...DEFAULT_QUANTIZER, ...input };
  if (typeof c.bits !== 'number' || !isCodeWidth(c.bits)) {
    throw new QuantConfigError(f('bits'), `got ${c.bits}, allowed: ${ALLOWED_BITS}`);
  }
  if (!Number.isInteger(c.groupSize) || c.groupSize < 1) {
    throw new QuantConfigError(f('groupSize'), `got ${c.groupSize}, allowed: a positive integer`);
  }
  return {
    bits: c.bits,
    backend: oneOf(f('backend'), c.backend, BACKENDS),
    axis: oneOf(f('axis'), c.axis, AXES),
    groupSize: c.groupSize,
    metaDtype: oneOf(f('metaDtype'), c.metaDtype, META_DTYPES),
    hqqMode: oneOf(f('hqqMode'), c.hqqMode, HQQ_MODES),
  };
}
