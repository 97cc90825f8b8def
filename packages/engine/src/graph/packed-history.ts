// The packed history as the decoder graph reads it: each layer's parts in the boundary format of its
// codec (codes + scales + zeros for the grouped quantizers, indices + norms for TurboQuant), unpacked and
// decoded inside the graph right before attention (through lookup tables on GPU providers).
import type { GraphBuilder, Value } from '@kvbench/onnx';
import type { LayerCodecs } from '../codec';
import type { DecodeOptions } from '../codec/tensor-codec';
import { pastName, type BoundaryTensor, type KvKind } from './cache-boundary';
import type { PackedHistoryReader } from './decoder';
import type { GraphDtype } from './precision';

export function packedHistoryReader(codecs: readonly LayerCodecs[], dtype: GraphDtype, options: DecodeOptions = {}): PackedHistoryReader {
  return {
    key: JSON.stringify({ codecs: codecs.map((c) => [c.key.key, c.value.key]), dtype, lookupTables: options.lookupTables ?? false, arithmetic: options.arithmetic ?? 'float32' }),
    inputs(layer: number, kind: KvKind): BoundaryTensor[] {
      return codecs[layer][kind].format(`history_${kind}`).map((p) => ({ name: pastName(layer, kind, `history.${p.part}`), dtype: p.dtype, shape: p.shape }));
    },
    dequantize(g: GraphBuilder, inputs: Value[], layer: number, kind: KvKind): Value {
      return codecs[layer][kind].decode(g, inputs, dtype, options);
    },
  };
}
