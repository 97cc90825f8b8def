// What crosses the decoder graph's boundary per layer and per K/V: the names and shapes of the cache
// state. Attention reads, oldest first, an optional quantized (or fake-quantized) history, then the
// full-precision residual, then the new tokens; the graph returns residual ++ new as the next residual.
import type { Dim, DType } from '@kvbench/onnx';

export type KvKind = 'key' | 'value';
export const KV_KINDS: readonly KvKind[] = ['key', 'value'];

/** One tensor of the graph interface. */
export interface BoundaryTensor {
  name: string;
  dtype: DType;
  shape: Dim[];
}

/**
 * How one layer's K (or V) history is held between runs:
 * - 'none': no history segment, everything is residual (full-precision cache);
 * - 'float': a float tensor [1, kvHeads, S, headDim] (simulated mode: fake-quantized values);
 * - 'packed': packed codes + scales + zeros, unpacked and dequantized inside the graph.
 */
export type HistoryKind = 'none' | 'float' | 'packed';

export const pastName = (layer: number, kind: KvKind, part: string) => `past.${layer}.${kind}.${part}`;
export const presentName = (layer: number, kind: KvKind, part: string) => `present.${layer}.${kind}.${part}`;

/** Graph inputs that carry positions and the mask; shared by all layers. */
export const INPUT_IDS = 'input_ids'; // int64 [T]
export const POSITION_IDS = 'position_ids'; // int64 [T]
/** float [groups * T, past + T], groups = heads / kvHeads: 0 where visible, -inf masked; row j*T + t is query t. */
export const ATTENTION_BIAS = 'attention_bias';
export const LOGITS = 'logits'; // float32 [1, vocab], last position
/**
 * int64 [1]: tokens in the history of every layer (one value per kind). An empty history is fed as one
 * zero-filled quantum that the graph slices away (or masks, see HISTORY_ROWS): the emitters'
 * per-channel unpacking and WebGPU's MatMul do not take zero-length tensors.
 */
export const historyTokensName = (kind: KvKind) => `history_tokens.${kind}`;
/**
 * int64 [1]: rows of the key and value history tensors when they are aligned (a placeholder's rows,
 * masked by the bias, or the history's tokens); the bias's first columns are these rows.
 */
export const HISTORY_ROWS = 'history_rows';
/** bool scalar: the run is one token (graphs with split-K projections pick their form by it, split-k.ts). */
export const ONE_TOKEN = 'one_token';
/** int32 [1]: tokens before this run plus its tokens, minus one (fused attention: GroupQueryAttention's seqlens_k). */
export const SEQLENS_K = 'seqlens_k';
/** int32 scalar: tokens before this run plus its tokens (fused attention: GroupQueryAttention's total_sequence_length). */
export const TOTAL_SEQUENCE_LENGTH = 'total_sequence_length';
/**
 * int64 [8] (reserved rows over a history, cache-reserve.ts): Pad's pads that place the residual at the
 * history's tokens within the history's rows; one for every layer and both kinds (one flush schedule).
 */
export const RESERVE_PADS_INPUT = 'reserve_pads';
/** int64 [1] (reserved rows over a history): the history's tokens plus the residual's rows, where the residual ends in the present. */
export const RESIDUAL_END = 'residual_end';
