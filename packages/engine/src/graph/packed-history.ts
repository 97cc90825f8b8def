// The packed history as the decoder graph reads it: codes + scales + zeros in the boundary format of
// @kvbench/quant's emitters, unpacked and dequantized inside the graph right before attention.
import type { Dim, GraphBuilder, Value } from '@kvbench/onnx';
import { emitUnpackDequantize, quantizedFormat, type QuantizedFormat, type QuantizerConfig } from '@kvbench/quant';
import { pastName, type BoundaryTensor, type KvKind } from './cache-boundary';
import type { PackedHistoryReader } from './decoder';
import type { GraphDtype } from './precision';

export const PACKED_PARTS = ['codes', 'scales', 'zeros'] as const;

/** The boundary format of a [1, kvHeads, seq, headDim] history (seq symbolic or fixed). */
export function packedFormat(quantizer: QuantizerConfig, kvHeads: number, headDim: number, seq: Dim): QuantizedFormat {
  return quantizedFormat(quantizer, { batch: 1, heads: kvHeads, seq, headDim });
}

export function packedHistoryReader(quantizers: Record<KvKind, QuantizerConfig>, kvHeads: number, headDim: number, dtype: GraphDtype): PackedHistoryReader {
  return {
    key: JSON.stringify({ quantizers, kvHeads, headDim, dtype }),
    inputs(layer: number, kind: KvKind): BoundaryTensor[] {
      const format = packedFormat(quantizers[kind], kvHeads, headDim, `history_${kind}`);
      return PACKED_PARTS.map((part) => ({ name: pastName(layer, kind, `history.${part}`), dtype: format[part].dtype, shape: format[part].shape }));
    },
    dequantize(g: GraphBuilder, inputs: Value[], kind: KvKind): Value {
      const [codes, scales, zeros] = inputs;
      return emitUnpackDequantize(g, { codes, scales, zeros }, quantizers[kind], { headDim, batch: 1, heads: kvHeads, computeDtype: dtype });
    },
  };
}
