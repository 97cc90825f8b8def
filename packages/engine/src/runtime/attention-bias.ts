// The additive attention mask the decoder graph takes: causal, plus Mistral's sliding window, tiled
// for the query heads that share a KV head (see graph/attention.ts).
import * as ort from 'onnxruntime-node';
import type { GraphDtype } from '../graph';

const NEG_INF_FP16 = 0xfc00;

/**
 * [groups * T, placeholder + start + T]: query t (position start + t) sees key positions p <= start + t
 * within the window; the first `placeholder` columns (rows of an empty history's placeholder) are
 * masked; rows j*T + t repeat query t's row for each of the `groups` heads of a KV group.
 */
export function attentionBias(start: number, count: number, slidingWindow: number | null, dtype: GraphDtype, groups = 1, placeholder = 0): ort.Tensor {
  const total = placeholder + start + count;
  const rowSize = count * total;
  const masked = new Uint8Array(rowSize);
  for (let t = 0; t < count; t++) {
    const pos = start + t;
    const first = slidingWindow === null ? 0 : Math.max(0, pos - slidingWindow + 1);
    for (let c = 0; c < total; c++) {
      const p = c - placeholder;
      masked[t * total + c] = p < 0 || p > pos || p < first ? 1 : 0;
    }
  }
  const fill = <T extends Float32Array | Uint16Array>(data: T, maskedValue: number): T => {
    for (let i = 0; i < rowSize; i++) if (masked[i]) data[i] = maskedValue;
    for (let j = 1; j < groups; j++) data.copyWithin(j * rowSize, 0, rowSize);
    return data;
  };
  const dims = [groups * count, total];
  return dtype === 'float16'
    ? new ort.Tensor('float16', fill(new Uint16Array(groups * rowSize), NEG_INF_FP16), dims) // +0 is 0x0000
    : new ort.Tensor('float32', fill(new Float32Array(groups * rowSize), -Infinity), dims);
}
