// Group layouts (quantizers.md §2) as data: for a [batch, kvHeads, seq, headDim] tensor and an axis,
// an index map listing, group after group, the flat indices of each group's members. Quantizers only
// ever see "group g = elements index[g*G .. g*G+G)", so the four layouts share one code path.

import { AXES, QuantConfigError, type GroupAxis } from './config';

/** [batch, kvHeads, seq, headDim], row-major and contiguous. */
export type KvShape = readonly [batch: number, kvHeads: number, seq: number, headDim: number];

export interface GroupLayout {
  readonly shape: KvShape;
  readonly axis: GroupAxis;
  readonly groupSize: number;
  readonly groups: number;
  readonly numel: number;
  /**
   * Group-major list of flat element indices: member i of group g is x[index[g*groupSize + i]].
   * Group order: per-token g = flat/G; per-channel (KIVI) g = ((b*H + h)*(S/G) + block)*D + d;
   * quanto-per-channel g = d*(B*H*S/G) + block (Quanto's column order); hqq-per-channel g = column j.
   */
  readonly index: Int32Array;
  /** True when index[k] = k (per-token): callers may skip the gather. */
  readonly contiguous: boolean;
}

const FIELD_SHAPE = ['batch', 'kvHeads', 'seq', 'headDim'] as const;

export function validateShape(shape: readonly number[], field = 'shape'): KvShape {
  if (!Array.isArray(shape) || shape.length !== 4) {
    throw new QuantConfigError(field, `got ${JSON.stringify(shape)}, allowed: [batch, kvHeads, seq, headDim] of positive integers`);
  }
  shape.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 1) {
      throw new QuantConfigError(`${field}.${FIELD_SHAPE[i]}`, `got ${n}, allowed: a positive integer`);
    }
  });
  const numel = shape[0] * shape[1] * shape[2] * shape[3];
  if (numel > 2 ** 31 - 1) throw new QuantConfigError(field, `has ${numel} elements, allowed: at most 2^31-1`);
  return [shape[0], shape[1], shape[2], shape[3]];
}

function divisors(n: number, limit = 16): string {
  const out: number[] = [];
  for (let d = 1; d <= n && out.length < limit; d++) if (n % d === 0) out.push(d);
  const more = out.length === limit && out[out.length - 1] !== n ? `, ..., ${n}` : '';
  return out.join(', ') + more;
}

/**
 * Checks that `groupSize` fits the layout on this shape and throws a QuantConfigError naming
 * `${prefix}.groupSize` (or `.axis`) with the allowed values otherwise.
 */
export function validateLayout(shape: readonly number[], axis: GroupAxis, groupSize: number, prefix = ''): void {
  const f = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const [B, H, S, D] = validateShape(shape, f('shape'));
  if (!(AXES as readonly string[]).includes(axis)) {
    throw new QuantConfigError(f('axis'), `got ${JSON.stringify(axis)}, allowed: ${AXES.join(', ')}`);
  }
  const G = groupSize;
  if (!Number.isInteger(G) || G < 1) throw new QuantConfigError(f('groupSize'), `got ${G}, allowed: a positive integer`);
  const N = B * H * S * D;
  const fail = (need: string, allowed: string): never => {
    throw new QuantConfigError(f('groupSize'), `got ${G}, ${axis} on shape [${B},${H},${S},${D}] needs ${need}; allowed: ${allowed}`);
  };
  switch (axis) {
    case 'per-token':
      // Groups run along headDim; a G larger than headDim must cover whole head vectors (spanning tokens).
      if (!(D % G === 0 || G % D === 0)) fail(`a divisor or multiple of headDim=${D}`, `${divisors(D)}, or ${D}*k`);
      if (N % G !== 0) fail(`a divisor of numel=${N}`, divisors(N));
      break;
    case 'per-channel':
      // KIVI blocks of G tokens of one (batch, head, channel); a ragged tail is the cache's residual, not ours.
      if (S % G !== 0) fail(`a divisor of seq=${S}`, divisors(S));
      break;
    case 'quanto-per-channel':
      if ((B * H * S) % G !== 0) fail(`a divisor of batch*kvHeads*seq=${B * H * S} (Quanto raises otherwise)`, divisors(B * H * S));
      break;
    case 'hqq-per-channel':
      if (N % G !== 0) fail(`a divisor of numel=${N}`, divisors(N));
      break;
  }
}

function buildIndex(shape: KvShape, axis: GroupAxis, G: number): Int32Array {
  const [B, H, S, D] = shape;
  const N = B * H * S * D;
  const index = new Int32Array(N);
  let k = 0;
  switch (axis) {
    case 'per-token':
      for (let n = 0; n < N; n++) index[n] = n;
      break;
    case 'per-channel': {
      const blocks = S / G;
      for (let bh = 0; bh < B * H; bh++)
        for (let blk = 0; blk < blocks; blk++)
          for (let d = 0; d < D; d++) {
            const base = (bh * S + blk * G) * D + d;
            for (let i = 0; i < G; i++) index[k++] = base + i * D;
          }
      break;
    }
    case 'quanto-per-channel': {
      // [R, D] rows cut into blocks of G rows per channel; blocks cross head and batch boundaries.
      const blocks = (B * H * S) / G;
      for (let d = 0; d < D; d++)
        for (let blk = 0; blk < blocks; blk++) {
          const base = blk * G * D + d;
          for (let i = 0; i < G; i++) index[k++] = base + i * D;
        }
      break;
    }
    case 'hqq-per-channel': {
      // Columns of the [G, N/G] view: members strided by N/G across all heads and batch rows.
      const cols = N / G;
      for (let j = 0; j < cols; j++) for (let i = 0; i < G; i++) index[k++] = j + i * cols;
      break;
    }
  }
  return index;
}

// Index maps are built once per (shape, axis, G) and reused; bounded so long sweeps do not hoard memory.
const cache = new Map<string, GroupLayout>();
const CACHE_MAX_ELEMENTS = 64 * 1024 * 1024;
let cachedElements = 0;

/** The group layout of `shape` for (axis, groupSize); validates (throwing QuantConfigError) and caches. */
export function groupLayout(shape: readonly number[], axis: GroupAxis, groupSize: number, prefix = ''): GroupLayout {
  const key = `${shape.join(',')}|${axis}|${groupSize}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // refresh recency
    cache.set(key, hit);
    return hit;
  }
  validateLayout(shape, axis, groupSize, prefix);
  const s = validateShape(shape);
  const numel = s[0] * s[1] * s[2] * s[3];
  const layout: GroupLayout = {
    shape: s,
    axis,
    groupSize,
    groups: numel / groupSize,
    numel,
    index: buildIndex(s, axis, groupSize),
    contiguous: axis === 'per-token',
  };
  while (cachedElements + numel > CACHE_MAX_ELEMENTS && cache.size > 0) {
    const [oldKey, old] = cache.entries().next().value as [string, GroupLayout];
    cache.delete(oldKey);
    cachedElements -= old.numel;
  }
  if (numel <= CACHE_MAX_ELEMENTS) {
    cache.set(key, layout);
    cachedElements += numel;
  }
  return layout;
}

/** Gathers x into group-major order (member i of group g at g*G + i). */
export function gather(x: Float32Array, layout: GroupLayout, out: Float32Array = new Float32Array(layout.numel)): Float32Array {
  if (layout.contiguous) {
    out.set(x.subarray(0, layout.numel));
    return out;
  }
  const idx = layout.index;
  for (let k = 0; k < idx.length; k++) out[k] = x[idx[k]];
  return out;
}

/** Inverse of gather: writes group-major values back to their [B,H,S,D] positions. */
export function scatter(grouped: Float32Array, layout: GroupLayout, out: Float32Array = new Float32Array(layout.numel)): Float32Array {
  if (layout.contiguous) {
    out.set(grouped.subarray(0, layout.numel));
    return out;
  }
  const idx = layout.index;
  for (let k = 0; k < idx.length; k++) out[idx[k]] = grouped[k];
  return out;
}
