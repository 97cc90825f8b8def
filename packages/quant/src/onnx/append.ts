// Appending a newly quantized block of tokens to a quantized history inside a graph (per-token and
// per-channel formats, along formats.ts's appendAxis). WebGPU has no Concat on uint8, so the codes go
// through int32 (Cast, Concat, Cast back): exact, but it reads and writes the whole history once more.
// Where the history stays on the host, appending the block's bytes there is cheaper.

import type { GraphBuilder, Value } from '@kvbench/onnx';
import { QuantConfigError, type QuantizerConfig } from '../config';
import type { QuantizedValues } from './emit';
import { ONNX_INT32, ONNX_UINT8 } from './ops';

export function emitAppendQuantized(
  g: GraphBuilder,
  history: Pick<QuantizedValues, 'codes' | 'scales' | 'zeros'>,
  block: Pick<QuantizedValues, 'codes' | 'scales' | 'zeros'>,
  cfg: QuantizerConfig,
  names: { codes?: string; scales?: string; zeros?: string } = {},
): Pick<QuantizedValues, 'codes' | 'scales' | 'zeros'> {
  if (cfg.axis !== 'per-token' && cfg.axis !== 'per-channel') {
    throw new QuantConfigError('axis', `got ${cfg.axis}, appending needs per-token or per-channel (the others re-quantize the whole tensor)`);
  }
  const axis = 2;
  const asInt = (v: Value) => g.op('Cast', [v], { to: ONNX_INT32 });
  const opts = (name?: string) => (name ? { names: [name] } : {});
  const codes = g.op('Cast', [g.op('Concat', [asInt(history.codes), asInt(block.codes)], { axis })], { to: ONNX_UINT8 }, opts(names.codes));
  return {
    codes,
    scales: g.op('Concat', [history.scales, block.scales], { axis }, opts(names.scales)),
    zeros: g.op('Concat', [history.zeros, block.zeros], { axis }, opts(names.zeros)),
  };
}
