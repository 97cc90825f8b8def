// createOnnxSession: validates the policy, builds (or reuses) the decoder and cache graphs, and opens
// ORT sessions on exactly the requested provider.
import type { CachePolicy, ExecutionProvider } from '../evaluation';
import {
  buildDecoderGraph,
  checkWeightQuant,
  GRAPH_FORMAT_VERSION,
  PREFILL_TERMS,
  SPLIT_K_CHUNK,
  pastName,
  presentName,
  LOGITS,
  validateWeightQuant,
  weightQuantKey,
  type GraphDtype,
  type HistorySpec,
  type KvKind,
  type WeightBits,
} from '../graph';
import type { ModelConfig, ModelProvenance, ModelWeights } from '../model';
import { CacheReserve } from './cache-reserve';
import { FullPrecisionStore } from './full-precision-store';
import { cachedGraph } from './graph-cache';
import { layerCodecs, type LayerCodecs } from '../codec';
import type { KvStore } from './kv-store';
import { OnnxDecoderSession } from './onnx-session';
import { validateCachePolicy, validateDtype, CachePolicyError } from './policy';
import { createInferenceSession, isGpuProvider, providerSessionOptions, PROVIDERS, type SessionOptions } from './providers';
import { quantizedStores, reserveBlocker } from './quantized-store';

/** What the engine needs of a loaded model. */
export interface SessionModel {
  config: ModelConfig;
  weights: ModelWeights;
  provenance?: Pick<ModelProvenance, 'weightsSha256'>;
}

export interface OnnxSessionOptions {
  provider?: ExecutionProvider; // default 'cpu'
  sessionOptions?: SessionOptions;
  dtype?: GraphDtype; // default 'float32'; 'float16' is for GPU providers
  /** Longest sequence the session serves (RoPE table rows); default min(maxPositions, 16384). */
  maxContext?: number;
  /** Prefill runs at most this many tokens per decoder run (bounds the chunk x context scores); default 512. */
  prefillChunk?: number;
  /** Weights above this many bytes are written as ONNX external data (default 1.5 GiB). */
  externalDataAbove?: number;
  /** Keep built graphs on disk here (keyed by the weights' sha256, so only for models with provenance). */
  cacheDir?: string;
  /** Per-layer K/V statistics from the first prefill's first N positions (CPU only; 0 = off; default 256). */
  layerStatsTokens?: number;
  /**
   * Linear-layer weights (q/k/v/o, gate/up/down): 16 = as loaded (default), 4 = blockwise asymmetric int4
   * through com.microsoft MatMulNBits. Embeddings, norms and the lm head stay float.
   */
  weightBits?: WeightBits;
  /** Elements per int4 block along K (power of two, 16..256, dividing every projection's K); default 32. */
  weightBlockSize?: number;
  /**
   * 'fused': attention and RoPE as one GroupQueryAttention node per layer (fewer kernels: GPU providers
   * are bound by the cost of recording each); 'plain': Transpose/MatMul/Softmax ops (faster on the CPU,
   * where GroupQueryAttention copies the cache out every run). Default: fused on GPU providers (when
   * head_dim is a multiple of 16), plain on the CPU.
   */
  attention?: 'plain' | 'fused';
  /**
   * Terms per partial sum when one token's float projections run as split-K products (graph/split-k.ts:
   * on WebGPU faster, and float16 sums of `splitK` terms instead of thousands); 0 = one MatMul each.
   * Default: SPLIT_K_CHUNK (128) on GPU providers, 0 on the CPU (its MatMul sums in float32 already).
   */
  splitK?: number;
  /**
   * With split-K: terms per partial sum of a prefill projection (graph/split-k.ts: about in / N partial
   * products, summed by a ReduceSum), so that float16 sums run over N terms instead of all of `in`; 0 = one
   * MatMul. Default: PREFILL_TERMS (256).
   */
  splitKPrefill?: number;
  /**
   * Rows of the cache's tensors: 'reserve' keeps rows ahead of the tokens (a ladder of row counts, x1.5
   * in multiples of 256; runtime/cache-reserve.ts), so decode steps meet device buffers of one size until the cache
   * outgrows them; 'exact' gives each step's cache exactly its tokens. 'reserve' needs fused attention, and
   * for a quantized cache the packed mode, residualMode 'append', per-token codecs and one quantum for
   * keys and values (the history's spare rows are written in place at each flush). 'auto': reserve where
   * the session allows it, exact elsewhere. Default: exact.
   */
  kvRows?: KvRows;
  /**
   * Arithmetic of the packed history's dequantization inside the decoder: 'compute' = the graph's dtype
   * (float16 graphs: half the bytes per pass over the history and no Cast of it, for one more float16
   * rounding; applies to per-token codecs of 1, 2 or 4 bits with fp16 metadata unpacked through lookup
   * tables), 'float32' = float32, rounded once. Default: compute on GPU providers, float32 on the CPU.
   */
  historyArithmetic?: 'float32' | 'compute';
}

export const KV_ROWS = ['exact', 'reserve', 'auto'] as const;
export type KvRows = (typeof KV_ROWS)[number];

/** The attention a session gets when OnnxSessionOptions.attention is not set. */
export function defaultAttention(provider: ExecutionProvider, config: ModelConfig): 'plain' | 'fused' {
  // GroupQueryAttention takes head sizes that are multiples of 16 (stories260K's 8 is not). Its sliding
  // window matches the reference on WebGPU too (gpu-consistency-window.md) and is faster there than plain ops.
  return isGpuProvider(provider) && config.headDim % 16 === 0 ? 'fused' : 'plain';
}

/** What a session lacks for rows reserved ahead, or null: fused attention, and a policy that can place rows (reserveBlocker). */
export function kvRowsBlocker(attention: 'plain' | 'fused', policy: CachePolicy, config: ModelConfig): string | null {
  if (attention !== 'fused') return 'fused attention (GroupQueryAttention reads a right-padded past; the plain graph attends to every row)';
  return policy.quant === null ? null : reserveBlocker(policy, layerCodecs(policy, config)!);
}

/** 'auto' -> 'reserve' where kvRowsBlocker finds nothing, else 'exact'. */
function resolveKvRows(kvRows: KvRows, attention: 'plain' | 'fused', policy: CachePolicy, config: ModelConfig): 'exact' | 'reserve' {
  if (!KV_ROWS.includes(kvRows)) throw new CachePolicyError('kvRows', `got ${JSON.stringify(kvRows)}, allowed: ${KV_ROWS.join(', ')}`);
  if (kvRows !== 'auto') return kvRows;
  return kvRowsBlocker(attention, policy, config) === null ? 'reserve' : 'exact';
}

const DEFAULT_MAX_CONTEXT = 16384;
const modelIds = new WeakMap<ModelWeights, string>();
let nextModelId = 0;

/** A key that identifies the weights: their sha256 when known, else this process's object identity. */
function modelKey(model: SessionModel): { key: string; stable: boolean } {
  if (model.provenance?.weightsSha256) return { key: model.provenance.weightsSha256, stable: true };
  let id = modelIds.get(model.weights);
  if (!id) modelIds.set(model.weights, (id = `object-${process.pid}-${nextModelId++}`));
  return { key: id, stable: false };
}

export async function createOnnxSession(model: SessionModel, policy: CachePolicy, options: OnnxSessionOptions = {}): Promise<OnnxDecoderSession> {
  const provider = options.provider ?? 'cpu';
  if (!PROVIDERS.includes(provider)) throw new CachePolicyError('provider', `got ${JSON.stringify(provider)}, allowed: ${PROVIDERS.join(', ')}`);
  const dtype = validateDtype(options.dtype ?? 'float32');
  const checked = validateCachePolicy(policy);
  const config = model.config;
  const maxContext = options.maxContext ?? Math.min(config.maxPositions, DEFAULT_MAX_CONTEXT);
  if (!Number.isInteger(maxContext) || maxContext < 1) throw new CachePolicyError('maxContext', `got ${maxContext}, allowed: a positive integer`);
  const prefillChunk = options.prefillChunk ?? 512;
  if (!Number.isInteger(prefillChunk) || prefillChunk < 1) throw new CachePolicyError('prefillChunk', `got ${prefillChunk}, allowed: a positive integer`);
  const layerStatsTokens = options.layerStatsTokens;
  if (layerStatsTokens !== undefined && (!Number.isInteger(layerStatsTokens) || layerStatsTokens < 0)) {
    throw new CachePolicyError('layerStatsTokens', `got ${layerStatsTokens}, allowed: an integer >= 0 (0 = no per-layer statistics)`);
  }
  const onDevice = isGpuProvider(provider);
  const fusable = config.headDim % 16 === 0;
  const attention = options.attention ?? defaultAttention(provider, config);
  if (attention !== 'plain' && attention !== 'fused') throw new CachePolicyError('attention', `got ${JSON.stringify(attention)}, allowed: plain, fused`);
  if (attention === 'fused' && !fusable) throw new CachePolicyError('attention', `fused needs a head_dim that is a multiple of 16 (GroupQueryAttention); this model has head_dim ${config.headDim}: use plain`);
  const splitKChunk = options.splitK ?? (onDevice ? SPLIT_K_CHUNK : 0);
  if (!Number.isInteger(splitKChunk) || splitKChunk < 0) throw new CachePolicyError('splitK', `got ${splitKChunk}, allowed: an integer >= 0 (0 = one MatMul per projection)`);
  const splitKPrefill = options.splitKPrefill ?? PREFILL_TERMS;
  if (!Number.isInteger(splitKPrefill) || splitKPrefill < 0) throw new CachePolicyError('splitKPrefill', `got ${splitKPrefill}, allowed: an integer >= 0 (terms per partial sum; 0 = one MatMul per prefill projection)`);
  const kvRows = resolveKvRows(options.kvRows ?? 'exact', attention, checked, config);
  if (kvRows === 'reserve' && attention !== 'fused') throw new CachePolicyError('kvRows', 'reserve needs fused attention (GroupQueryAttention reads a right-padded past; the plain graph attends to every row)');
  const historyArithmetic = options.historyArithmetic ?? (onDevice ? 'compute' : 'float32');
  if (historyArithmetic !== 'float32' && historyArithmetic !== 'compute') {
    throw new CachePolicyError('historyArithmetic', `got ${JSON.stringify(historyArithmetic)}, allowed: float32, compute`);
  }
  const weightQuant = validateWeightQuant(options.weightBits ?? 16, options.weightBlockSize);
  checkWeightQuant(config, weightQuant);
  const sessionOptions = providerSessionOptions(provider, options.sessionOptions);

  let stores: Record<KvKind, KvStore>;
  let history: Record<KvKind, HistorySpec>;
  let codecs: LayerCodecs[] | null = null;
  const reserve = kvRows === 'reserve';
  if (checked.quant === null) {
    const rows = reserve ? await CacheReserve.open({ provider, sessionOptions, onDevice }, [{ dtype, shape: [1, config.kvHeads, 'rows', config.headDim] }]) : null;
    const store = (kind: KvKind) => new FullPrecisionStore(kind, dtype, config.kvHeads, config.headDim, rows);
    stores = { key: store('key'), value: store('value') };
    history = { key: { kind: 'none' }, value: { kind: 'none' } };
  } else {
    ({ stores, history, codecs } = await quantizedStores({ config, policy: checked, dtype, provider, sessionOptions, onDevice, reserve, historyArithmetic }));
  }

  const { key: weightsKey, stable } = modelKey(model);
  const historyKey = (k: KvKind) => {
    const h = history[k];
    return h.kind === 'packed' ? `packed:${h.reader.key}` : h.kind;
  };
  const fusedAttention = attention === 'fused';
  // Same quantum -> same flush schedule -> K and V histories always cover the same positions (the fused
  // node takes no mask, so it reads each history cut to its tokens instead).
  const alignedHistory = !fusedAttention && history.key.kind !== 'none' && stores.key.quantum === stores.value.quantum;
  const graphKey = `decoder-v${GRAPH_FORMAT_VERSION}|${weightsKey}|${dtype}|${maxContext}|k=${historyKey('key')}|v=${historyKey('value')}|aligned=${alignedHistory}|${weightQuantKey(weightQuant)}|attention=${attention}|splitK=${splitKChunk}/${splitKChunk > 0 ? splitKPrefill : 0}|rows=${kvRows}`;
  const encoded = await cachedGraph(graphKey, () => buildDecoderGraph(config, model.weights, { dtype, maxContext, history, alignedHistory, weightQuant, fusedAttention, splitKChunk, splitKPrefillTerms: splitKPrefill, reservedRows: reserve }).graph, {
    cacheDir: stable ? options.cacheDir : undefined,
    externalDataAbove: options.externalDataAbove,
  });

  const historyInputs = (layer: number, kind: KvKind): string[] => {
    const h = history[kind];
    if (h.kind === 'none') return [];
    if (h.kind === 'float') return [pastName(layer, kind, 'history')];
    return h.reader.inputs(layer, kind).map((t) => t.name);
  };
  const decoderOptions: SessionOptions = { ...sessionOptions };
  if (onDevice) {
    // The cache stays on the device between runs; only the logits come back to the CPU.
    const locations: Record<string, 'gpu-buffer' | 'cpu'> = { [LOGITS]: 'cpu' };
    for (let l = 0; l < config.layers; l++) for (const kind of ['key', 'value'] as const) locations[presentName(l, kind, 'residual')] = 'gpu-buffer';
    decoderOptions.preferredOutputLocation = locations;
  }
  let decoder;
  try {
    decoder = await createInferenceSession(encoded, provider, decoderOptions);
  } catch (error) {
    await stores.key.dispose();
    await stores.value.dispose();
    throw error;
  }
  return new OnnxDecoderSession({ config, policy: checked, provider, dtype, maxContext, prefillChunk, alignedHistory, attention, decoder, historyInputs, stores, codecs, layerStatsTokens, weights: weightQuant, splitKChunk, reservedRows: reserve });
}
