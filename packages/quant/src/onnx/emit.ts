// The public emitters: quantize+pack, unpack+dequantize and fake-quantize a [B, H, S, D] tensor inside
// an ONNX graph, agreeing with the TypeScript quantizer (quantize.ts) code for code and byte for byte.
// The sequence axis stays dynamic: every reshape uses 0 (copy) and -1 (infer) rather than fixed sizes.

import type { GraphBuilder, Value } from '@kvbench/onnx';
import { QuantConfigError, type QuantizerConfig } from '../config';
import { storageBits } from '../widths';
import { graphLayout, type GraphLayout } from './grouping';
import { emitHqqQuantize, emitHqqDequantize } from './hqq';
import { emitBoolToFloat, f32, ONNX_FLOAT, ONNX_FLOAT16, ONNX_UINT8 } from './ops';
import { emitPackRuns, emitPackRunsScaled, emitUnpackBytesDirect, emitUnpackRuns, emitUnpackRunsScaled, hasDirectByteTable } from './packing';
import { emitGuardedView, emitQuantoDequantize, emitQuantoQuantize, type GuardedView } from './quanto';

// Defaults chosen by bench/quant measurements (see bench/results/quant.md).
const DEFAULT_PACK: 'split' | 'scaled' = 'scaled';
const DEFAULT_UNPACK: 'table' | 'arithmetic' = 'arithmetic';

export interface EmitOptions {
  /** Head size D (static). */
  headDim: number;
  /** Static batch and KV heads; required to rebuild [B, H, S, D] for quanto-/hqq-per-channel. */
  batch?: number;
  heads?: number;
  /** Dtype of the input x and of the dequantized output; the arithmetic is fp32 either way. Default float32. */
  computeDtype?: 'float32' | 'float16';
  /**
   * Skip the NaN/Inf guards (4 elementwise passes fewer). Only for inputs known to be finite: a
   * non-finite member then spoils its group's metadata and codes (never the other groups).
   */
  assumeFinite?: boolean;
  /** Also return the number of non-finite inputs (a float32 scalar). */
  countNonFinite?: boolean;
  /**
   * Graph names for the results, so that they can be graph outputs without a renaming Identity
   * (Identity on uint8 does not run on WebGPU).
   */
  names?: { codes?: string; scales?: string; zeros?: string; nonFinite?: string; output?: string };
  /** Unpacking: 'table' (Gather from a lookup table) or 'arithmetic' (MatMul + floor/mod). */
  unpack?: 'table' | 'arithmetic';
  /**
   * Dequantization arithmetic: 'float32' (default; rounded once to computeDtype) or 'compute' (in
   * computeDtype: for float16, half the bytes per pass and no Cast of the result, at the cost of one more
   * float16 rounding). 'compute' applies where its inputs are exact in float16, that is per-token codes
   * unpacked through a byte table (b = 1, 2, 4) with fp16 metadata; elsewhere the arithmetic stays float32.
   */
  arithmetic?: 'float32' | 'compute';
  /** Packing of widths 3, 5, 6, 7: 'split' (straddling codes split) or 'scaled' (floor/mod on the packed size). */
  pack?: 'split' | 'scaled';
  /**
   * CPU provider only (Split and uint8 Concat do not run on WebGPU): process the heads in this many
   * chunks, one after the other, so that the elementwise passes work on cache-sized tensors. For
   * per-token and per-channel (groups never span heads); `heads` must be static and divisible by it.
   */
  headChunks?: number;
}

/** A quantized tensor in the boundary format of formats.ts. */
export interface QuantizedValues {
  /** uint8 packed codes. */
  codes: Value;
  /** Per-group scale (float16 for fp16 metadata, float32 otherwise). */
  scales: Value;
  /** Per-group zero: Quanto's shift, HQQ's float zero. */
  zeros: Value;
  /** Count of NaN/Inf inputs (float32 scalar), when countNonFinite was asked for. */
  nonFinite?: Value;
}

interface Quantized {
  layout: GraphLayout;
  view: GuardedView;
  xv: Value;
  q: Value;
  scale: Value;
  zero: Value;
}

function quantizeGroups(g: GraphBuilder, x: Value, cfg: QuantizerConfig, opts: EmitOptions): Quantized {
  const layout = graphLayout(cfg, opts);
  const x32 = opts.computeDtype === 'float16' ? g.op('Cast', [x], { to: ONNX_FLOAT }) : x;
  const xv = layout.view(g, x32);
  const view = emitGuardedView(g, xv, opts.assumeFinite ?? false);
  if (cfg.backend === 'quanto') {
    const r = emitQuantoQuantize(g, view, layout.memberAxis, cfg);
    return { layout, view, xv, q: r.q, scale: r.scale, zero: r.shift };
  }
  const r = emitHqqQuantize(g, view, layout.memberAxis, cfg);
  return { layout, view, xv, q: r.q, scale: r.scale, zero: r.zero };
}

function dequantizeGroups(g: GraphBuilder, cfg: QuantizerConfig, q: Value, scale: Value, zero: Value): Value {
  return cfg.backend === 'quanto' ? emitQuantoDequantize(g, q, scale, zero) : emitHqqDequantize(g, q, scale, zero);
}

/** Gives `v` the graph name `name` (through an Identity on a float value), or returns it unchanged. */
const named = (g: GraphBuilder, v: Value, name: string | undefined) => (name && v.name !== name ? g.op('Identity', [v], {}, { names: [name] }) : v);
const metaOut = (g: GraphBuilder, m: Value, cfg: QuantizerConfig, name: string | undefined) =>
  cfg.metaDtype === 'fp16' ? g.op('Cast', [m], { to: ONNX_FLOAT16 }, name ? { names: [name] } : {}) : named(g, m, name);
const metaIn = (g: GraphBuilder, m: Value, cfg: QuantizerConfig) => (cfg.metaDtype === 'fp16' ? g.op('Cast', [m], { to: ONNX_FLOAT }) : m);
const toCompute = (g: GraphBuilder, v: Value, opts: EmitOptions) => (opts.computeDtype === 'float16' ? g.op('Cast', [v], { to: ONNX_FLOAT16 }) : v);

function countNonFinite(g: GraphBuilder, view: GuardedView): Value {
  if (!view.finite) return f32(g, 0);
  return g.op('ReduceSum', [g.op('Sub', [f32(g, 1), emitBoolToFloat(g, view.finite)])], { keepdims: 0 });
}

/** Quantizes x [B, H, S, D] and packs it: codes, scales and zeros in the format of formats.ts. */
function checkChunks(cfg: QuantizerConfig, opts: EmitOptions): number {
  const k = opts.headChunks ?? 1;
  if (k === 1) return 1;
  if (cfg.axis !== 'per-token' && cfg.axis !== 'per-channel') throw new QuantConfigError('headChunks', `got ${k}, ${cfg.axis} groups span heads; allowed: 1`);
  if (!Number.isInteger(opts.heads) || !Number.isInteger(k) || k < 1 || opts.heads! % k !== 0) {
    throw new QuantConfigError('headChunks', `got ${k}, allowed: a divisor of the static heads (${opts.heads})`);
  }
  return k;
}

const splitHeads = (g: GraphBuilder, v: Value, k: number) => g.opN('Split', [v], k, { axis: 1, num_outputs: k });
const concatHeads = (g: GraphBuilder, vs: Value[], name?: string) => g.op('Concat', vs, { axis: 1 }, name ? { names: [name] } : {});

export function emitQuantizePack(g: GraphBuilder, x: Value, cfg: QuantizerConfig, opts: EmitOptions): QuantizedValues {
  const k = checkChunks(cfg, opts);
  if (k > 1) {
    const parts = splitHeads(g, x, k).map((part) => emitQuantizePack(g, part, cfg, { ...opts, headChunks: 1, names: undefined }));
    const names = opts.names ?? {};
    const out: QuantizedValues = {
      codes: concatHeads(g, parts.map((p) => p.codes), names.codes),
      scales: concatHeads(g, parts.map((p) => p.scales), names.scales),
      zeros: concatHeads(g, parts.map((p) => p.zeros), names.zeros),
    };
    if (opts.countNonFinite) out.nonFinite = g.op('Sum', parts.map((p) => p.nonFinite!), {}, names.nonFinite ? { names: [names.nonFinite] } : {});
    return out;
  }
  const r = quantizeGroups(g, x, cfg, opts);
  const pack = (opts.pack ?? DEFAULT_PACK) === 'scaled' ? emitPackRunsScaled : emitPackRuns;
  const b = storageBits(cfg.bits); // 1.58: packed as 2-bit codes
  const packed = pack(g, r.layout.toRuns(g, r.q), b, r.layout.runAxis);
  const names = opts.names ?? {};
  const codes = g.op('Cast', [r.layout.packedToFormat(g, packed, b)], { to: ONNX_UINT8 }, names.codes ? { names: [names.codes] } : {});
  const out: QuantizedValues = {
    codes,
    scales: metaOut(g, r.layout.metaToFormat(g, r.scale), cfg, names.scales),
    zeros: metaOut(g, r.layout.metaToFormat(g, r.zero), cfg, names.zeros),
  };
  if (opts.countNonFinite) out.nonFinite = named(g, countNonFinite(g, r.view), names.nonFinite);
  return out;
}

/** Unpacks and dequantizes a tensor in the format of formats.ts back to [B, H, S, D] (computeDtype). */
export function emitUnpackDequantize(g: GraphBuilder, quantized: Pick<QuantizedValues, 'codes' | 'scales' | 'zeros'>, cfg: QuantizerConfig, opts: EmitOptions): Value {
  const k = checkChunks(cfg, opts);
  if (k > 1) {
    const [codes, scales, zeros] = [quantized.codes, quantized.scales, quantized.zeros].map((v) => splitHeads(g, v, k));
    const parts = codes.map((c, i) => emitUnpackDequantize(g, { codes: c, scales: scales[i], zeros: zeros[i] }, cfg, { ...opts, headChunks: 1, names: undefined }));
    return concatHeads(g, parts, opts.names?.output);
  }
  const layout = graphLayout(cfg, opts);
  let q: Value;
  const method = opts.unpack ?? DEFAULT_UNPACK;
  const b = storageBits(cfg.bits);
  const direct = method === 'table' && cfg.axis === 'per-token' && hasDirectByteTable(b);
  // Codes (<= 15) and fp16 metadata are exact in float16: in 'compute' arithmetic only the Mul and Sub
  // round once more, and neither the metadata nor the result is cast.
  const half = direct && opts.arithmetic === 'compute' && opts.computeDtype === 'float16' && cfg.metaDtype === 'fp16';
  if (direct) {
    q = layout.fromRuns(g, emitUnpackBytesDirect(g, quantized.codes, b, half ? 'float16' : 'float32'));
  } else {
    const bytes = layout.formatToPacked(g, g.op('Cast', [quantized.codes], { to: ONNX_FLOAT }), b);
    const unpack = method === 'table' ? emitUnpackRuns : emitUnpackRunsScaled;
    q = layout.fromRuns(g, unpack(g, bytes, b, layout.runAxis));
  }
  const meta = (m: Value) => layout.metaFromFormat(g, half ? m : metaIn(g, m, cfg));
  const y = layout.toKv(g, dequantizeGroups(g, cfg, q, meta(quantized.scales), meta(quantized.zeros)));
  return named(g, half ? y : toCompute(g, y, opts), opts.names?.output);
}

/**
 * Quantize then dequantize without packing (the engine's simulated mode). Non-finite inputs pass
 * through unchanged, as TypeScript's fakeQuantize restores them.
 */
export function emitFakeQuantize(g: GraphBuilder, x: Value, cfg: QuantizerConfig, opts: EmitOptions): Value {
  const r = quantizeGroups(g, x, cfg, opts);
  let xhat = dequantizeGroups(g, cfg, r.q, r.scale, r.zero);
  if (r.view.finite) xhat = g.op('Where', [r.view.finite, xhat, r.xv]);
  return named(g, toCompute(g, r.layout.toKv(g, xhat), opts), opts.names?.output);
}
