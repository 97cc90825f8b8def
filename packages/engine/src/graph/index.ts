export { buildDecoderGraph, GRAPH_FORMAT_VERSION } from './decoder';
export { PREFILL_TERMS, SPLIT_K_CHUNK } from './split-k';
export type { SplitK } from './split-k';
export type { DecoderGraph, DecoderGraphOptions, HistorySpec, PackedHistoryReader } from './decoder';
export type { AttentionCache } from './attention';
export {
  ATTENTION_BIAS,
  HISTORY_ROWS,
  historyTokensName,
  INPUT_IDS,
  KV_KINDS,
  LOGITS,
  ONE_TOKEN,
  POSITION_IDS,
  pastName,
  presentName,
  RESERVE_PADS_INPUT,
  RESIDUAL_END,
  SEQLENS_K,
  TOTAL_SEQUENCE_LENGTH,
} from './cache-boundary';
export type { BoundaryTensor, HistoryKind, KvKind } from './cache-boundary';
export { GRAPH_DTYPES, bytesPerFloat } from './precision';
export type { GraphDtype } from './precision';
export { ropeTables } from './rope-tables';
export type { RopeTables } from './rope-tables';
export {
  checkWeightQuant,
  DEFAULT_WEIGHT_BLOCK_SIZE,
  dequantizeInt4,
  projectionInputs,
  quantizeInt4,
  validateWeightQuant,
  WEIGHT_BITS,
  weightQuantKey,
  WeightQuantError,
} from './int4-weights';
export type { Int4Blocks, WeightBits, WeightQuant } from './int4-weights';
