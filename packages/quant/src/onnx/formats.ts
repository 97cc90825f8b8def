// The tensor formats in which a quantized KV tensor crosses an ONNX graph boundary: the one place that
// says what shape codes, scales and zeros have for each layout.
//
// Every format holds exactly the bytes of the TypeScript quantizer (quantize.ts / packing.ts): codes are
// the group-major stream packed 8 codes -> b bytes, and scales/zeros are in group order. The shapes only
// add axes, chosen so that for 'per-token' and 'per-channel' whole blocks of tokens can be appended with
// a Concat along `appendAxis` (old blocks untouched), and the result is again exactly the TS bytes of
// the longer tensor (batch and heads are the outer axes in both group orders).
//
// With B = batch, H = kvHeads, S = seq, D = headDim, G = groupSize, b = storage bits (2 for 1.58):
//
// | axis               | codes (uint8)            | scales, zeros                       | appendAxis |
// |--------------------|--------------------------|-------------------------------------|------------|
// | per-token, G <= D  | [B, H, S, D*b/8]         | [B, H, S, D/G]                      | 2          |
// | per-token, G > D   | [B, H, S, D*b/8]         | [B, H, S*D/G, 1]                    | 2          |
// | per-channel (KIVI) | [B, H, S/G, D, G*b/8]    | [B, H, S/G, D]                      | 2          |
// | quanto-per-channel | [D, B*H*S/G, G*b/8]      | [D, B*H*S/G]                        | none       |
// | hqq-per-channel    | [N/G, G*b/8]             | [N/G]                               | none       |
//
// Conditions (checked by checkGraphLayout): D % 8 == 0 for per-token (a token's codes are whole bytes),
// and G % D == 0 or D % G == 0; G % 8 == 0 for the three per-channel layouts (a group's codes are whole
// bytes); S % G == 0 for per-channel; (B*H*S) % G == 0 for quanto-per-channel; N % G == 0 for hqq.
// Metadata dtype: fp16 metadata is carried as float16; fp32 and bf16 metadata as float32 (bf16 cannot
// cross the onnxruntime-node boundary; the values are bf16-exact, 2 of the 4 bytes are slack).
// Quanto: zeros hold the shift (x^ = scale*q - shift); HQQ: zeros hold the float zero (x^ = (q - zero)*scale).

import type { Dim, DType } from '@kvbench/onnx';
import { QuantConfigError, type MetaDtype, type QuantizerConfig } from '../config';
import { roundMeta } from '../rounding';
import { storageBits } from '../widths';
import { toFloat16Bits } from '@kvbench/onnx';

/** Dims of the [batch, kvHeads, seq, headDim] tensor; batch/heads/seq may be symbolic names. */
export interface KvDims {
  batch: Dim;
  heads: Dim;
  seq: Dim;
  headDim: number;
}

export interface TensorFormat {
  dtype: DType;
  shape: Dim[];
}

export interface QuantizedFormat {
  codes: TensorFormat;
  scales: TensorFormat;
  zeros: TensorFormat;
  /** Axis along which blocks of tokens append (Concat); null where groups span the whole tensor. */
  appendAxis: number | null;
}

/** The ONNX dtype of scales and zeros at the graph boundary. */
export function metaTensorDtype(metaDtype: MetaDtype): 'float32' | 'float16' {
  return metaDtype === 'fp16' ? 'float16' : 'float32';
}

/** Throws a QuantConfigError naming the field when the layout cannot be expressed in a graph format. */
export function checkGraphLayout(cfg: QuantizerConfig, headDim: number, prefix = ''): void {
  const f = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const G = cfg.groupSize;
  const D = headDim;
  if (!Number.isInteger(D) || D < 1) throw new QuantConfigError(f('headDim'), `got ${D}, allowed: a positive integer`);
  if (cfg.axis === 'per-token') {
    if (D % 8 !== 0) throw new QuantConfigError(f('headDim'), `got ${D}, the packed graph format needs a multiple of 8`);
    if (D % G !== 0 && G % D !== 0) {
      throw new QuantConfigError(f('groupSize'), `got ${G}, per-token in a graph needs a divisor or multiple of headDim=${D}`);
    }
  } else if (G % 8 !== 0) {
    throw new QuantConfigError(f('groupSize'), `got ${G}, ${cfg.axis} in a graph needs a multiple of 8 (whole bytes per group)`);
  }
}

function mul(a: Dim, k: number, div = 1): Dim {
  if (typeof a === 'number') {
    const v = (a * k) / div;
    if (!Number.isInteger(v)) throw new QuantConfigError('shape', `${a}*${k}/${div} is not an integer`);
    return v;
  }
  if (k === div) return a;
  return `${a}${k !== 1 ? `*${k}` : ''}${div !== 1 ? `/${div}` : ''}`;
}

function prod(dims: Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((p, d) => p * d, 1);
  return dims.join('*');
}

/** The boundary format of a quantized [B, H, S, D] tensor for `cfg` (see the table above). */
export function quantizedFormat(cfg: QuantizerConfig, dims: KvDims): QuantizedFormat {
  checkGraphLayout(cfg, dims.headDim);
  const { batch: B, heads: H, seq: S, headDim: D } = dims;
  const G = cfg.groupSize;
  const b = storageBits(cfg.bits);
  const meta = (shape: Dim[]): TensorFormat => ({ dtype: metaTensorDtype(cfg.metaDtype), shape });
  const codes = (shape: Dim[]): TensorFormat => ({ dtype: 'uint8', shape });
  switch (cfg.axis) {
    case 'per-token': {
      const m = G <= D ? [B, H, S, D / G] : [B, H, mul(S, D, G), 1];
      return { codes: codes([B, H, S, (D * b) / 8]), scales: meta(m), zeros: meta(m), appendAxis: 2 };
    }
    case 'per-channel': {
      const blocks = mul(S, 1, G);
      return { codes: codes([B, H, blocks, D, (G * b) / 8]), scales: meta([B, H, blocks, D]), zeros: meta([B, H, blocks, D]), appendAxis: 2 };
    }
    case 'quanto-per-channel': {
      const blocks = mul(prod([B, H, S]), 1, G);
      return { codes: codes([D, blocks, (G * b) / 8]), scales: meta([D, blocks]), zeros: meta([D, blocks]), appendAxis: null };
    }
    case 'hqq-per-channel': {
      const groups = mul(prod([B, H, S, D]), 1, G);
      return { codes: codes([groups, (G * b) / 8]), scales: meta([groups]), zeros: meta([groups]), appendAxis: null };
    }
  }
}

/**
 * Metadata from the TypeScript quantizer (Float32Array, already rounded to metaDtype) as the boundary
 * tensor wants it: fp16 bits (Uint16Array, for an ort 'float16' tensor) for fp16, the values otherwise.
 */
export function metaForBoundary(values: Float32Array, metaDtype: MetaDtype): Float32Array | Uint16Array {
  if (metaDtype !== 'fp16') return values;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(roundMeta(values[i], 'fp16'));
  return out;
}

/** Inverse of metaForBoundary: boundary metadata (fp16 bits or fp32) back to a Float32Array. */
export function metaFromBoundary(data: Float32Array | Uint16Array, metaDtype: MetaDtype): Float32Array {
  if (metaDtype !== 'fp16') return data as Float32Array;
  const bits = data as Uint16Array;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16BitsToNumber(bits[i]);
  return out;
}

function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
