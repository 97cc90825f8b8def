export { DTYPES, bytesPerElement } from './dtype';
export type { DType } from './dtype';
export { tensor, toFloat16Bits, float16Bytes } from './tensor';
export type { TensorData } from './tensor';
export { GraphBuilder, FloatAttr, SubgraphAttr, float } from './graph';
export type { Value, Dim, Node, ValueInfo, AttrValue, OpOptions, SubgraphOutput } from './graph';
export { encodeModel } from './model';
export type { ModelOptions, EncodedModel } from './model';
export { writeModel, externalDataName } from './write';
