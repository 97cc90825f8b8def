// In-graph KV quantizers (ONNX emitters) agreeing with the TypeScript quantizers byte for byte.
export { emitFakeQuantize, emitQuantizePack, emitUnpackDequantize } from './emit';
export type { EmitOptions, QuantizedValues } from './emit';
export { checkGraphLayout, metaForBoundary, metaFromBoundary, metaTensorDtype, quantizedFormat } from './formats';
export type { KvDims, QuantizedFormat, TensorFormat } from './formats';
export { WEBGPU_OPS } from './ops';
export { emitAppendQuantized } from './append';
// Dense bit packing of float codes along a run axis (TurboQuant's indices and signs use it too).
export { emitPackRunsScaled, emitUnpackRunsScaled } from './packing';
