// The decoder graph, llama2.c run.c style: embedding, then per layer RMSNorm -> q,k,v (+bias, QK-norm)
// -> RoPE -> attention over dequant(history) ++ residual ++ new -> o, residual add, RMSNorm -> SwiGLU, residual add;
// final norm and the lm head on the last position. The cache enters as past.* inputs and leaves as the
// next residual (present.*); quantizing residual blocks into the history happens in the cache graphs.
// With fusedAttention, RoPE and attention are one GroupQueryAttention node per layer (fused-attention.ts).
import { GraphBuilder, type Value } from '@kvbench/onnx';
import type { ModelConfig, ModelWeights } from '../model';
import { groupedQueryAttention, type AttentionCache } from './attention';
import {
  ATTENTION_BIAS,
  HISTORY_ROWS,
  RESERVE_PADS_INPUT,
  RESIDUAL_END,
  historyTokensName,
  INPUT_IDS,
  KV_KINDS,
  LOGITS,
  ONE_TOKEN,
  POSITION_IDS,
  pastName,
  presentName,
  SEQLENS_K,
  TOTAL_SEQUENCE_LENGTH,
  type BoundaryTensor,
  type KvKind,
} from './cache-boundary';
import { checkWeightQuant, type WeightQuant } from './int4-weights';
import { Layers } from './layers';
import type { GraphDtype } from './precision';
import { placeRows } from './cache-reserve';
import { fusedAttention } from './fused-attention';
import { ropeHalfTables, ropeTables } from './rope-tables';
import type { SplitK } from './split-k';
import { stackRows } from './stack-rows';

/** Part of every graph cache key: bump when the graphs built here (or the emitters they use) change. */
export const GRAPH_FORMAT_VERSION = 10;

/** Reads a packed history inside a graph: declares its inputs and returns dequantized [1, H, S, D]. */
export interface PackedHistoryReader {
  /** Identifies the format in graph cache keys. */
  readonly key: string;
  /** The packed tensors of one layer's K or V history (names from pastName). */
  inputs(layer: number, kind: KvKind): BoundaryTensor[];
  /** Unpacks and dequantizes `inputs` (same order) to [1, kvHeads, S, headDim] in the graph dtype. */
  dequantize(g: GraphBuilder, inputs: Value[], layer: number, kind: KvKind): Value;
}

export type HistorySpec = { kind: 'none' } | { kind: 'float' } | { kind: 'packed'; reader: PackedHistoryReader };

export interface DecoderGraphOptions {
  dtype: GraphDtype;
  /** Positions covered by the RoPE tables. */
  maxContext: number;
  history: Record<KvKind, HistorySpec>;
  /**
   * Keys and values have histories of the same rows at every step (same quantum, so the same flush
   * schedule): attention reads history and present in place, masking placeholder rows through the bias.
   * Otherwise each kind's history is cut to its tokens and concatenated to its present (two copies).
   */
  alignedHistory: boolean;
  /** Storage of the q/k/v/o and MLP weights (default 16 bits = as loaded); embeddings, norms, lm head stay float. */
  weightQuant?: WeightQuant;
  /**
   * Attention and RoPE as one GroupQueryAttention node per layer (fused-attention.ts) instead of plain
   * ops; needs alignedHistory false. The graph then takes SEQLENS_K and TOTAL_SEQUENCE_LENGTH instead of
   * POSITION_IDS and ATTENTION_BIAS.
   */
  fusedAttention?: boolean;
  /**
   * Float projections of one token as split-K products of this many terms per partial sum (split-k.ts;
   * GPU providers): the graph takes ONE_TOKEN, and each projection is an If between the split product and
   * one MatMul. Default 0: one MatMul each, no If.
   */
  splitKChunk?: number;
  /** With splitKChunk: terms per partial sum of a prefill projection (SplitK.prefillTerms). Default 0: one MatMul. */
  splitKPrefillTerms?: number;
  /**
   * Fused attention over a history with rows reserved ahead (runtime/cache-reserve.ts): history and
   * residual inputs carry spare rows after their tokens; the node's past is the dequantized history with
   * the residual added over its zero rows from the history's tokens on (RESERVE_PADS_INPUT), so the valid
   * positions stay one prefix and every size stays fixed; the residual output keeps the residual input's
   * rows (it ends at RESIDUAL_END in the present).
   */
  reservedRows?: boolean;
}

export interface DecoderGraph {
  graph: GraphBuilder;
  inputs: BoundaryTensor[];
  outputs: BoundaryTensor[];
}

export function buildDecoderGraph(config: ModelConfig, weights: ModelWeights, options: DecoderGraphOptions): DecoderGraph {
  const g = new GraphBuilder('kvbench-decoder');
  const weightQuant = options.weightQuant ?? { bits: 16 };
  checkWeightQuant(config, weightQuant);
  const dtype = options.dtype;
  const { hiddenSize: dim, heads, kvHeads, headDim, vocabSize, intermediateSize } = config;
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  const inputs: BoundaryTensor[] = [];
  const outputs: BoundaryTensor[] = [];
  const input = (t: BoundaryTensor) => {
    inputs.push(t);
    return g.input(t.name, t.dtype, t.shape);
  };

  const fused = options.fusedAttention ?? false;
  if (options.reservedRows && !fused) throw new Error('reservedRows: needs fusedAttention (GroupQueryAttention reads a right-padded past)');
  if (fused && options.alignedHistory) throw new Error('fusedAttention: needs alignedHistory false (GroupQueryAttention takes no mask for placeholder rows)');
  const tokens = input({ name: INPUT_IDS, dtype: 'int64', shape: ['T'] });
  const chunk = options.splitKChunk ?? 0;
  const splitK: SplitK | null = chunk > 0 ? { chunk, oneToken: input({ name: ONE_TOKEN, dtype: 'bool', shape: [] }), prefillTerms: options.splitKPrefillTerms ?? 0 } : null;
  const nn = new Layers(g, dtype, weightQuant, splitK);
  // Plain attention: RoPE rows for these positions, [T, 1, D] to broadcast over heads, and the mask.
  let plain: { bias: Value; cos: Value; sin: Value; rotation: Value } | null = null;
  // Fused attention: lengths and the rotary caches GroupQueryAttention reads.
  let gqa: { seqlensK: Value; totalLength: Value; cos: Value; sin: Value } | null = null;
  if (fused) {
    const half = ropeHalfTables(config, options.maxContext);
    gqa = {
      seqlensK: input({ name: SEQLENS_K, dtype: 'int32', shape: [1] }),
      totalLength: input({ name: TOTAL_SEQUENCE_LENGTH, dtype: 'int32', shape: [] }),
      cos: nn.weight('rope.cos_half', [options.maxContext, headDim / 2], half.cos),
      sin: nn.weight('rope.sin_half', [options.maxContext, headDim / 2], half.sin),
    };
  } else {
    const positions = input({ name: POSITION_IDS, dtype: 'int64', shape: ['T'] });
    const bias = input({ name: ATTENTION_BIAS, dtype, shape: ['groups_x_T', 'S'] });
    const rope = ropeTables(config, options.maxContext);
    const cosTable = nn.weight('rope.cos', [rope.positions, headDim], rope.cos);
    const sinTable = nn.weight('rope.sin_signed', [rope.positions, headDim], rope.sinSigned);
    plain = {
      bias,
      cos: g.op('Unsqueeze', [g.op('Gather', [cosTable, positions], { axis: 0 }), g.ints([1])]),
      sin: g.op('Unsqueeze', [g.op('Gather', [sinTable, positions], { axis: 0 }), g.ints([1])]),
      rotation: g.constant('int64', [headDim], rope.rotation),
    };
  }

  // Positions of the history (see DecoderGraphOptions.alignedHistory and historyTokensName).
  const historyTokens: Partial<Record<KvKind, Value>> = {};
  let historyRows: Value | null = null;
  if (options.alignedHistory) {
    historyRows = input({ name: HISTORY_ROWS, dtype: 'int64', shape: [1] });
  } else {
    for (const kind of KV_KINDS) {
      if (options.history[kind].kind !== 'none') historyTokens[kind] = input({ name: historyTokensName(kind), dtype: 'int64', shape: [1] });
    }
  }

  // Reserved rows over a history: where the residual goes in the history's rows (one schedule for all
  // layers and both kinds), and where it ends in the present.
  const reserve =
    options.reservedRows && KV_KINDS.some((k) => options.history[k].kind !== 'none')
      ? { pads: input({ name: RESERVE_PADS_INPUT, dtype: 'int64', shape: [8] }), end: input({ name: RESIDUAL_END, dtype: 'int64', shape: [1] }) }
      : null;

  const embed = nn.weight('embed', [vocabSize, dim], weights.embed);
  let x = g.op('Gather', [embed, tokens], { axis: 0 }); // [T, dim]

  for (let l = 0; l < config.layers; l++) {
    const w = weights.layers[l];
    const p = (name: string) => `layers.${l}.${name}`;

    // --- attention ---
    const xb = nn.rmsNorm(x, nn.weight(p('attn_norm'), [dim], w.attnNorm), config.rmsEps);
    // q, k and v as one projection (one wide kernel instead of three narrow ones), then split.
    const qkvDim = qDim + 2 * kvDim;
    const hasBias = config.attentionBias && (w.bq || w.bk || w.bv);
    const bqkv = hasBias ? nn.weight(p('bqkv'), [qkvDim], stackRows([w.bq ?? new Float32Array(qDim), w.bk ?? new Float32Array(kvDim), w.bv ?? new Float32Array(kvDim)])) : undefined;
    const qkv = nn.projection(xb, p('wqkv'), [qkvDim, dim], stackRows([w.wq, w.wk, w.wv]), bqkv);

    // The cache as this layer's inputs: history (float or packed, dequantized here) and residual.
    const history: Partial<Record<KvKind, Value>> = {};
    const residual = {} as Record<KvKind, Value>;
    for (const kind of KV_KINDS) {
      const spec = options.history[kind];
      if (spec.kind === 'float') {
        history[kind] = input({ name: pastName(l, kind, 'history'), dtype, shape: [1, kvHeads, `history_${kind}`, headDim] });
      } else if (spec.kind === 'packed') {
        history[kind] = spec.reader.dequantize(g, spec.reader.inputs(l, kind).map(input), l, kind);
      }
      residual[kind] = input({ name: pastName(l, kind, 'residual'), dtype, shape: [1, kvHeads, `residual_${kind}`, headDim] });
    }
    const presentOutput = (kind: KvKind, value: Value) => {
      const name = presentName(l, kind, 'residual');
      outputs.push({ name, dtype, shape: [1, kvHeads, `present_${kind}`, headDim] });
      return g.output(value, name, dtype, [1, kvHeads, `present_${kind}`, headDim]);
    };
    // The history's real tokens (the input may carry a placeholder quantum).
    const historyPart = (kind: KvKind) => g.op('Slice', [history[kind]!, g.ints([0]), historyTokens[kind]!, g.ints([2])]);
    // q [T, heads, D], k and v [T, kvHeads, D] out of the fused projection; Qwen3 RMS-normalizes each head of
    // q and k (before RoPE).
    const splitHeads = () => {
      const [qFlat, kFlat, vFlat] = g.opN('Split', [qkv, g.ints([qDim, kvDim, kvDim])], 3, { axis: 1 });
      let q = nn.reshape(qFlat, [-1, heads, headDim]);
      let k = nn.reshape(kFlat, [-1, kvHeads, headDim]);
      if (config.qkNorm) {
        q = nn.rmsNorm(q, nn.weight(p('q_norm'), [headDim], w.qNorm!), config.rmsEps);
        k = nn.rmsNorm(k, nn.weight(p('k_norm'), [headDim], w.kNorm!), config.rmsEps);
      }
      return { q, k, v: nn.reshape(vFlat, [-1, kvHeads, headDim]) };
    };

    let attn: Value;
    if (gqa) {
      // The node takes the projection packed (it splits q/k/v and applies RoPE itself); with q/k norm the
      // heads are normalized and packed again (see FusedAttentionInputs.qkv).
      let packed = qkv;
      if (config.qkNorm) {
        const { q, k, v } = splitHeads();
        packed = g.op('Concat', [q, k, v], { axis: 1 });
      }
      const parts = nn.reshape(packed, [1, -1, qkvDim]);
      const past = (kind: KvKind) => {
        if (!history[kind]) return residual[kind];
        if (!reserve) return g.op('Concat', [historyPart(kind), residual[kind]], { axis: 2 });
        // The history's spare rows are zero and dequantize to zero: the residual is added over them.
        return placeRows(g, history[kind]!, residual[kind], reserve.pads, false);
      };
      // Without a history the node's present is the residual: named as the output (no Identity kernel).
      const presentNames = { key: history.key ? undefined : presentName(l, 'key', 'residual'), value: history.value ? undefined : presentName(l, 'value', 'residual') };
      const out = fusedAttention(g, config, { qkv: parts, pastKey: past('key'), pastValue: past('value'), ...gqa }, presentNames);
      // The node returns past ++ new; the residual is what follows the history.
      const residualOf = (kind: KvKind, present: Value) =>
        history[kind] ? g.op('Slice', [present, historyTokens[kind]!, reserve ? reserve.end : g.ints([2 ** 62]), g.ints([2])], {}, { names: [presentName(l, kind, 'residual')] }) : present;
      presentOutput('key', residualOf('key', out.presentKey));
      presentOutput('value', residualOf('value', out.presentValue));
      attn = nn.reshape(out.output, [-1, qDim]);
    } else {
      const rope = plain!;
      const split = splitHeads();
      const q = nn.rope(split.q, rope.cos, rope.sin, rope.rotation);
      const k = nn.rope(split.k, rope.cos, rope.sin, rope.rotation);
      const v = split.v;

      // New keys/values as [1, Hkv, T, D]; the cache stores keys after RoPE.
      const fresh: Record<KvKind, Value> = {
        key: g.op('Unsqueeze', [nn.transpose(k, [1, 0, 2]), g.ints([0])]),
        value: g.op('Unsqueeze', [nn.transpose(v, [1, 0, 2]), g.ints([0])]),
      };
      // The cache attention reads: dequant(history) ++ residual ++ new, positions in order.
      const present = {} as Record<KvKind, Value>;
      for (const kind of KV_KINDS) present[kind] = presentOutput(kind, g.op('Concat', [residual[kind], fresh[kind]], { axis: 2 }));
      let cache: AttentionCache;
      if (!history.key || !history.value) {
        cache = { history: null, present };
      } else if (options.alignedHistory) {
        cache = { history: { key: history.key, value: history.value, rows: historyRows! }, present };
      } else {
        // K and V histories end at different positions: cut the placeholders and join each to its present.
        const join = (kind: KvKind) => g.op('Concat', [historyPart(kind), present[kind]], { axis: 2 });
        cache = { history: null, present: { key: join('key'), value: join('value') } };
      }
      attn = groupedQueryAttention(nn, { heads, kvHeads, headDim }, nn.reshape(q, [-1, qDim]), cache, rope.bias);
    }
    x = g.op('Add', [x, nn.projection(attn, p('wo'), [dim, qDim], w.wo)]);

    // --- SwiGLU MLP ---
    const xm = nn.rmsNorm(x, nn.weight(p('mlp_norm'), [dim], w.mlpNorm), config.rmsEps);
    const gateUp = nn.projection(xm, p('w_gate_up'), [2 * intermediateSize, dim], stackRows([w.wGate, w.wUp]));
    const [gate, up] = g.opN('Split', [gateUp, g.ints([intermediateSize, intermediateSize])], 2, { axis: 1 });
    const mlp = nn.projection(nn.swiglu(gate, up), p('w_down'), [dim, intermediateSize], w.wDown);
    x = g.op('Add', [x, mlp]);
  }

  // Only the last position's logits leave the graph (prefill returns them; decode has one position).
  const last = g.op('Slice', [x, g.ints([-1]), g.ints([2 ** 62]), g.ints([0])]);
  const normed = nn.rmsNorm(last, nn.weight('final_norm', [dim], weights.finalNorm), config.rmsEps);
  // Stored [dim, vocab] for the MatMul; with tied embeddings that is a second copy of the table (the
  // embedding Gather reads rows of [vocab, dim]).
  let logits = nn.denseProjection(normed, 'lm_head', [vocabSize, dim], weights.lmHead, undefined, 'one');
  if (dtype === 'float16') logits = g.op('Cast', [logits], { to: 1 }, { names: [LOGITS] });
  g.output(logits, LOGITS, 'float32', [1, vocabSize]);
  outputs.unshift({ name: LOGITS, dtype: 'float32', shape: [1, vocabSize] });
  return { graph: g, inputs, outputs };
}
