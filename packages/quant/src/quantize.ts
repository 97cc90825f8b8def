// Top-level quantize / dequantize of a [batch, kvHeads, seq, headDim] tensor: layout gather, backend,
// packing, and the non-finite side list.
//
// Non-finite inputs (NaN, +-Infinity): the libraries turn the whole group into NaN (and HQQ stops its
// solver globally). Here they are counted, left out of min/max and of the HQQ solver, coded as 0, and
// kept in a side list (flat index + value) that dequantize writes back, so the rest of the group is
// quantized normally and the non-finite entries come back as themselves. QuantizedTensor.nonFinite says
// how many there were; memory accounting counts the side list (4-byte index + 2-byte fp16 value each).

import { quantizerConfig, QuantConfigError, type QuantizerConfig } from './config';
import { hqqDequantizeGrouped, hqqQuantizeGrouped } from './hqq';
import { gather, groupLayout, scatter, validateShape, type GroupLayout, type KvShape } from './layout';
import { pack, unpack } from './packing';
import { quantoDequantizeGrouped, quantoQuantizeGrouped } from './quanto';
import { storageBits } from './widths';

export interface QuantizedTensor {
  readonly shape: KvShape;
  readonly config: QuantizerConfig;
  readonly groups: number;
  /** Codes in group-major order, packed densely (packing.ts), packedBytes(numel, storageBits(bits)) bytes. */
  readonly codes: Uint8Array;
  /** One per group, already rounded to config.metaDtype. Quanto: step s. HQQ: scale = 1/s^. */
  readonly scales: Float32Array;
  /** One per group, rounded to config.metaDtype. Quanto: shift (x^ = s*q - shift). HQQ: zero z (x^ = (q - z)*scale). */
  readonly zeros: Float32Array;
  /** Number of NaN/Infinity inputs; they are excluded from the groups' statistics and restored on dequantize. */
  readonly nonFinite: number;
  /** Flat [B,H,S,D] indices of the non-finite inputs, ascending. */
  readonly nonFiniteIndex: Int32Array;
  /** Their values (NaN, Infinity or -Infinity). */
  readonly nonFiniteValues: Float32Array;
  /** HQQ solver iterations (faithful: global; clean: max over groups); 0 for quanto. */
  readonly solverIterations: number;
}

/** Unpacked result, for callers (tests, analysis) that want the codes group by group. */
export interface GroupedQuantization {
  readonly layout: GroupLayout;
  readonly config: QuantizerConfig;
  /** Group-major codes, one byte each. */
  readonly codes: Uint8Array;
  readonly scales: Float32Array;
  readonly zeros: Float32Array;
  readonly solverIterations: number;
}

function asFloat32(x: ArrayLike<number>, numel: number): Float32Array {
  if (x.length !== numel) throw new QuantConfigError('data', `has ${x.length} elements, the shape needs ${numel}`);
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

/** Validates config and shape together; errors name `${prefix}.field`. */
export function resolveQuantizer(shape: readonly number[], config: Partial<QuantizerConfig>, prefix = ''): { config: QuantizerConfig; layout: GroupLayout } {
  const c = quantizerConfig(config, prefix);
  const layout = groupLayout(validateShape(shape, prefix ? `${prefix}.shape` : 'shape'), c.axis, c.groupSize, prefix);
  return { config: c, layout };
}

/** Quantizes without packing: group-major codes plus metadata. */
export function quantizeGrouped(x: ArrayLike<number>, shape: readonly number[], config: Partial<QuantizerConfig>, prefix = ''): GroupedQuantization {
  const { config: c, layout } = resolveQuantizer(shape, config, prefix);
  const data = asFloat32(x, layout.numel);
  const xg = layout.contiguous ? data : gather(data, layout);
  const out = {
    codes: new Uint8Array(layout.numel),
    scales: new Float32Array(layout.groups),
    zeros: new Float32Array(layout.groups),
  };
  let solverIterations = 0;
  if (c.backend === 'quanto') quantoQuantizeGrouped(xg, c.groupSize, c.bits, c.metaDtype, out);
  else solverIterations = hqqQuantizeGrouped(xg, c.groupSize, c.bits, c.metaDtype, c.hqqMode, out).iterations;
  return { layout, config: c, ...out, solverIterations };
}

function nonFiniteEntries(x: Float32Array): { index: Int32Array; values: Float32Array } {
  let count = 0;
  for (let n = 0; n < x.length; n++) if (x[n] - x[n] !== 0) count++;
  const index = new Int32Array(count);
  const values = new Float32Array(count);
  if (count > 0) {
    let k = 0;
    for (let n = 0; n < x.length; n++) {
      if (x[n] - x[n] !== 0) {
        index[k] = n;
        values[k++] = x[n];
      }
    }
  }
  return { index, values };
}

/** Quantizes a [batch, kvHeads, seq, headDim] tensor (row-major) with one QuantizerConfig. */
export function quantize(x: ArrayLike<number>, shape: readonly number[], config: Partial<QuantizerConfig>, prefix = ''): QuantizedTensor {
  const data = asFloat32(x, resolveQuantizer(shape, config, prefix).layout.numel); // one fp32 copy at most
  const grouped = quantizeGrouped(data, shape, config, prefix);
  const { index, values } = nonFiniteEntries(data);
  return {
    shape: grouped.layout.shape,
    config: grouped.config,
    groups: grouped.layout.groups,
    codes: pack(grouped.codes, storageBits(grouped.config.bits)),
    scales: grouped.scales,
    zeros: grouped.zeros,
    nonFinite: index.length,
    nonFiniteIndex: index,
    nonFiniteValues: values,
    solverIterations: grouped.solverIterations,
  };
}

/** Dequantizes group-major codes into group-major values. */
export function dequantizeGrouped(codes: Uint8Array, scales: Float32Array, zeros: Float32Array, config: QuantizerConfig, out: Float32Array = new Float32Array(codes.length)): Float32Array {
  if (config.backend === 'quanto') quantoDequantizeGrouped(codes, scales, zeros, config.groupSize, out);
  else hqqDequantizeGrouped(codes, scales, zeros, config.groupSize, out);
  return out;
}

/** The group-major unpacked codes of a quantized tensor. */
export function unpackCodes(qt: QuantizedTensor): Uint8Array {
  return unpack(qt.codes, storageBits(qt.config.bits), qt.groups * qt.config.groupSize);
}

/** Reconstructs the [batch, kvHeads, seq, headDim] tensor (fp32), non-finite inputs restored. */
export function dequantize(qt: QuantizedTensor, out?: Float32Array): Float32Array {
  const layout = groupLayout(qt.shape, qt.config.axis, qt.config.groupSize);
  const result = out ?? new Float32Array(layout.numel);
  if (result.length < layout.numel) throw new QuantConfigError('out', `holds ${result.length} values, needs ${layout.numel}`);
  const codes = unpackCodes(qt);
  if (layout.contiguous) dequantizeGrouped(codes, qt.scales, qt.zeros, qt.config, result);
  else scatter(dequantizeGrouped(codes, qt.scales, qt.zeros, qt.config), layout, result);
  for (let k = 0; k < qt.nonFinite; k++) result[qt.nonFiniteIndex[k]] = qt.nonFiniteValues[k];
  return result;
}

/** quantize then dequantize (simulated quantization). */
export function fakeQuantize(x: ArrayLike<number>, shape: readonly number[], config: Partial<QuantizerConfig>): Float32Array {
  return dequantize(quantize(x, shape, config));
}
