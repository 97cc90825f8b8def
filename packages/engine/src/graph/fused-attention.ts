// Attention of one layer as ONNX Runtime's com.microsoft GroupQueryAttention: RoPE on q and k, the new
// keys and values appended to the past, causal (and sliding-window) softmax attention, in one node
// where the plain graph (attention.ts, Layers.rope) has about thirty. GPU providers are bound by the
// cost of recording each kernel (bench/results/gpu-decode-profile.md), the CPU is not: the engine uses
// it on GPUs only. The node takes no mask, so the past must hold exactly the positions before this run
// (no placeholder rows) and positions come from its length.
import type { GraphBuilder, Value } from '@kvbench/onnx';
import type { ModelConfig } from '../model';

export interface FusedAttentionInputs {
  /**
   * [1, T, (heads + 2 kvHeads) headDim]: q ++ k ++ v, packed (given apart, with q/k norm before them, the
   * WebGPU provider's graph fusion turns the node into one it rejects: "query shall be 3 dimensions").
   */
  qkv: Value;
  /** [1, kvHeads, P, headDim]: every position before this run, keys after RoPE. */
  pastKey: Value;
  pastValue: Value;
  /** int32 [1]: P + T - 1. */
  seqlensK: Value;
  /** int32 scalar: P + T. */
  totalLength: Value;
  /** [positions, headDim / 2] in the graph dtype (ropeHalfTables). */
  cos: Value;
  sin: Value;
}

/** Returns the attention output [1, T, heads*headDim] and the present key/value [1, kvHeads, P + T, headDim]. */
export function fusedAttention(
  g: GraphBuilder,
  config: Pick<ModelConfig, 'heads' | 'kvHeads' | 'headDim' | 'ropePairing' | 'slidingWindow'>,
  inputs: FusedAttentionInputs,
  /** Graph names for the present key/value (when they are graph outputs as they are). */
  presentNames: { key?: string; value?: string } = {},
): { output: Value; presentKey: Value; presentValue: Value } {
  const [output, presentKey, presentValue] = g.opN(
    'GroupQueryAttention',
    [inputs.qkv, null, null, inputs.pastKey, inputs.pastValue, inputs.seqlensK, inputs.totalLength, inputs.cos, inputs.sin],
    3,
    {
      num_heads: config.heads,
      kv_num_heads: config.kvHeads,
      scale: 1 / Math.sqrt(config.headDim),
      do_rotary: 1,
      rotary_interleaved: config.ropePairing === 'interleaved' ? 1 : 0,
      // The node's window counts the query's own key (measured on the CPU against the reference: W, not W - 1).
      local_window_size: config.slidingWindow === null ? -1 : config.slidingWindow,
    },
    { domain: 'com.microsoft', names: [g.fresh('attention'), presentNames.key ?? g.fresh('present_key'), presentNames.value ?? g.fresh('present_value')] },
  );
  return { output, presentKey, presentValue };
}
