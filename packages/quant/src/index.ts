// @kvbench/quant: grouped KV-cache quantizers (Quanto min-max, HQQ), group layouts, dense bit packing,
// memory accounting, and a float64 reference. See ../../shared/spec/quantizers.md.
//
//   quantize(x, [batch, kvHeads, seq, headDim], config) -> QuantizedTensor (packed codes, scales, zeros)
//   dequantize(qt) -> Float32Array;  fakeQuantize(x, shape, config) = both
//   pack(codes, bits) / unpack(packed, bits, count) / packedBytes(count, bits): layout in packing.ts
//   maxCode(bits), storageBits(bits): code range and packed width (1.58 = ternary in 2 bits), widths.ts
//   kvBytesPerToken(model, kv | null), quantizedTensorBytes(shape, config), heldBytes(qt)
//   groupLayout(shape, axis, groupSize): the group index map every quantizer runs on

export {
  AXES,
  BACKENDS,
  DEFAULT_QUANTIZER,
  HQQ_MODES,
  MAX_BITS,
  META_DTYPES,
  MIN_BITS,
  QuantConfigError,
  quantizerConfig,
} from './config';
export type { GroupAxis, HqqMode, KvQuantConfig, MetaDtype, QuantBackend, QuantizerConfig } from './config';

export { ALLOWED_BITS, FRACTIONAL_BITS, isCodeWidth, maxCode, storageBits } from './widths';

export { kvQuantConfig } from './kv';

export { gather, groupLayout, scatter, validateLayout, validateShape } from './layout';
export type { GroupLayout, KvShape } from './layout';

export { pack, packedBytes, unpack } from './packing';

export {
  dequantize,
  dequantizeGrouped,
  fakeQuantize,
  quantize,
  quantizeGrouped,
  resolveQuantizer,
  unpackCodes,
} from './quantize';
export type { GroupedQuantization, QuantizedTensor } from './quantize';

export {
  bitsPerElement,
  fp16KvBytesPerToken,
  heldBytes,
  kvBytesPerToken,
  NON_FINITE_ENTRY_BYTES,
  quantizedTensorBytes,
} from './memory';
export type { ModelKvShape, TensorBytes } from './memory';

export { metaBits, rne, roundBf16, roundFp16, roundMeta, roundToDtype } from './rounding';
export { cleanInvScaleLimit, HQQ_BETA, HQQ_ITERS, HQQ_LP_NORM } from './hqq';

/** Float64 reference implementations (plain, slow) for cross-checking, e.g. by the ONNX emitters' tests. */
export * as reference from './reference';

// In-graph (ONNX) emitters of the same quantizers, maintained in ./onnx.
export * from './onnx';

// Per-layer bit and group-size budgets (spectral-kv's allocation), maintained in ./budget.
export * from './budget';

// Randomized Hadamard / Haar rotations before any grouped quantizer, maintained in ./rotation.
export * from './rotation';

// TurboQuant (MSE, QJL, prod) and D'Alberto's KV / KQV / QKQV schemes, maintained in ./turbo.
export * from './turbo';
