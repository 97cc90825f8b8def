// The quantized cache of one kind (keys or values): packed codes + scales + zeros (or, in simulated
// mode, fake-quantized floats) plus the residual, moved along by the flush graph of graph/cache-graphs.
import * as ort from 'onnxruntime-node';
import { kindQuantum, layerCodecs, type LayerCodecs, type TensorCodec } from '../codec';
import type { CachePolicy, ExecutionProvider } from '../evaluation';
import { KV_KINDS, type GraphDtype, type HistorySpec, type KvKind } from '../graph';
import {
  buildFlushGraph,
  FLUSH_RESIDUAL_IN,
  FLUSH_RESIDUAL_OUT,
  FLUSH_HISTORY_PADS,
  FLUSH_RESIDUAL_PADS,
  FLUSH_TOKENS,
  flushGraphKey,
  flushHistoryIn,
  flushHistoryOut,
  NON_FINITE,
  type FlushGraphOptions,
} from '../graph/cache-graphs';
import { reservePads, rowPerToken } from '../graph/cache-reserve';
import { packedHistoryReader } from '../graph/packed-history';
import type { ModelConfig } from '../model';
import { CacheReserve } from './cache-reserve';
import { cachedGraph } from './graph-cache';
import type { KvSlot, KvStore } from './kv-store';
import { CachePolicyError } from './policy';
import { createInferenceSession, type SessionOptions } from './providers';
import { emptyFloatTensor, int64Tensor, zeroFloatTensor } from './tensors';

export interface QuantizedStoreOptions {
  config: ModelConfig;
  policy: CachePolicy;
  dtype: GraphDtype;
  provider: ExecutionProvider;
  sessionOptions: SessionOptions;
  onDevice: boolean;
  /** Rows reserved ahead in history and residual (kvRows 'reserve': packed, append, one row per token). */
  reserve?: boolean;
  /** Arithmetic of the packed history's dequantization in the decoder (OnnxSessionOptions.historyArithmetic). */
  historyArithmetic: 'float32' | 'compute';
}

/** The reserve graphs of a store that keeps rows ahead: its residual's and each layer's history's. */
interface StoreReserves {
  residual: CacheReserve;
  history: CacheReserve[];
}

/** The placeholder of an empty packed history: `rows` zero-filled tokens (see historyTokensName). */
function emptyPacked(codec: TensorCodec, rows: number): ort.Tensor[] {
  return codec.format(rows).map(({ dtype, shape }) => {
    const dims = shape as number[];
    const n = dims.reduce((a, b) => a * b, 1);
    if (dtype === 'uint8') return new ort.Tensor('uint8', new Uint8Array(n), dims);
    if (dtype === 'float16') return new ort.Tensor('float16', new Uint16Array(n), dims);
    return new ort.Tensor('float32', new Float32Array(n), dims);
  });
}

/** The flush graphs of one layer and kind: `grow` appends or requantizes; `start` quantizes into an empty packed history. */
export interface FlushSessions {
  grow: ort.InferenceSession;
  start: ort.InferenceSession | null;
}

/** Flush sessions are shared by layers and kinds with the same codec; each is released once. */
const released = new WeakSet<ort.InferenceSession>();

class QuantizedStore implements KvStore {
  readonly historyKind: 'packed' | 'float';
  readonly requantize: boolean;
  readonly placeholderRows: number;
  private nonFiniteCount = 0;

  constructor(
    readonly kind: KvKind,
    /** Per layer. */
    private readonly codecs: TensorCodec[],
    private readonly sessions: FlushSessions[],
    /** A multiple of every layer's quantum, so one flush schedule serves all layers. */
    readonly quantum: number,
    private readonly options: QuantizedStoreOptions,
    private readonly reserves: StoreReserves | null = null,
  ) {
    this.historyKind = options.policy.mode === 'packed' ? 'packed' : 'float';
    this.requantize = options.policy.residualMode === 'requantize';
    // An empty history is a zero-filled placeholder of one quantum, never a zero-length tensor: the
    // emitters' per-channel unpacking and WebGPU's MatMul do not take zero-length inputs.
    this.placeholderRows = quantum;
  }

  private historyParts(layer: number): (string | null)[] {
    return this.historyKind === 'packed' ? this.codecs[layer].format(0).map((p) => p.part) : [null];
  }

  emptySlot(layer: number): KvSlot {
    const { dtype, config } = this.options;
    // Reserving rows: no placeholder, the session gives the slot its rows before the first run.
    const rows = this.reserves ? 0 : this.quantum;
    const history =
      this.historyKind === 'packed'
        ? emptyPacked(this.codecs[layer], rows)
        : [zeroFloatTensor(dtype, config.kvHeads, rows, config.headDim)];
    return { history, historyTokens: 0, residual: emptyFloatTensor(dtype, config.kvHeads, config.headDim), residualTokens: 0 };
  }

  async flush(layer: number, slot: KvSlot, tokens: number): Promise<KvSlot> {
    if (tokens <= 0 || tokens > slot.residualTokens || tokens % this.quantum !== 0) {
      throw new Error(`flush of ${tokens} tokens from a residual of ${slot.residualTokens} (quantum ${this.quantum})`);
    }
    const feeds: Record<string, ort.Tensor> = { [FLUSH_RESIDUAL_IN]: slot.residual, [FLUSH_TOKENS]: int64Tensor([tokens]) };
    const sessions = this.sessions[layer];
    const session = slot.historyTokens === 0 && sessions.start ? sessions.start : sessions.grow;
    const parts = this.historyParts(layer);
    if (session === sessions.grow) parts.forEach((part, i) => (feeds[flushHistoryIn(part)] = slot.history[i]));
    if (this.reserves) {
      // Placed into the history's spare rows; the residual keeps its rows.
      feeds[FLUSH_HISTORY_PADS] = int64Tensor(reservePads({ before: slot.historyTokens, rows: tokens, total: slot.history[0].dims[2] }));
      feeds[FLUSH_RESIDUAL_PADS] = int64Tensor(reservePads({ before: 0, rows: slot.residual.dims[2] - tokens, total: slot.residual.dims[2] }));
    }
    const out = await session.run(feeds);
    this.nonFiniteCount += (out[NON_FINITE].data as Float32Array)[0];
    return {
      history: parts.map((part) => out[flushHistoryOut(part)]),
      historyTokens: slot.historyTokens + tokens,
      residual: out[FLUSH_RESIDUAL_OUT],
      residualTokens: slot.residualTokens - tokens,
    };
  }

  async reserve(layer: number, slot: KvSlot, rows: { residual: number; history: number }): Promise<KvSlot> {
    const reserves = this.reserves;
    if (!reserves) throw new Error('this quantized store keeps exact rows (opened without kvRows reserve)');
    const { dtype, config } = this.options;
    const [residual] = await reserves.residual.reserve([slot.residual], slot.residualTokens, rows.residual, (n) => [zeroFloatTensor(dtype, config.kvHeads, n, config.headDim)]);
    const history = await reserves.history[layer].reserve(slot.history, slot.historyTokens, rows.history, (n) => emptyPacked(this.codecs[layer], n));
    return { ...slot, residual, history };
  }

  nonFinite(): number {
    return this.nonFiniteCount;
  }

  async dispose(): Promise<void> {
    if (this.reserves) for (const r of [this.reserves.residual, ...this.reserves.history]) await r.dispose();
    for (const session of this.sessions.flatMap((s) => [s.grow, s.start])) {
      if (session && !released.has(session)) {
        released.add(session);
        await session.release();
      }
    }
  }
}

/** What a quantized policy lacks for rows reserved ahead (the history's spare rows written in place), or null. */
export function reserveBlocker(policy: CachePolicy, codecs: readonly LayerCodecs[]): string | null {
  return policy.mode !== 'packed' ? 'the packed mode (this policy is simulated)'
    : policy.residualMode === 'requantize' ? "residualMode 'append' (requantize rewrites the whole history)"
    : !codecs.every((c) => KV_KINDS.every((k) => rowPerToken(c[k]))) ? 'codecs with one history row per token (per-token grouping)'
    : kindQuantum(codecs, 'key') !== kindQuantum(codecs, 'value') ? 'keys and values flushed together (the same quantum)'
    : null;
}

/** Builds the key and value stores and the decoder's history specs for a quantized policy. */
export async function quantizedStores(o: QuantizedStoreOptions): Promise<{ stores: Record<KvKind, KvStore>; history: Record<KvKind, HistorySpec>; codecs: LayerCodecs[] }> {
  const { config, policy, dtype } = o;
  const codecs = layerCodecs(policy, config)!;
  for (const layer of codecs) for (const kind of KV_KINDS) layer[kind].checkGraph();
  if (o.reserve) {
    const why = reserveBlocker(policy, codecs);
    if (why) throw new CachePolicyError('kvRows', `reserve with a quantized cache needs ${why}`);
  }
  // On a device, history and residual stay there; only the non-finite count comes back. Each flush graph
  // names its own outputs (a TurboQuant mse history has no signs), so the locations are per codec.
  const sessionOptionsFor = (codec: TensorCodec): SessionOptions => {
    if (!o.onDevice) return { ...o.sessionOptions };
    const locations: Record<string, 'gpu-buffer' | 'cpu'> = { [NON_FINITE]: 'cpu', [FLUSH_RESIDUAL_OUT]: 'gpu-buffer' };
    const parts = policy.mode === 'packed' ? codec.format(0).map((p) => p.part) : [null];
    for (const part of parts) locations[flushHistoryOut(part)] = 'gpu-buffer';
    return { ...o.sessionOptions, preferredOutputLocation: locations };
  };
  // Layers and kinds with the same codec share their flush sessions.
  const opened = new Map<string, Promise<ort.InferenceSession>>();
  const open = (codec: TensorCodec, flush: FlushGraphOptions['kind']): Promise<ort.InferenceSession> => {
    const flushOptions: FlushGraphOptions = { codec, mode: policy.mode, kind: flush, kvHeads: config.kvHeads, headDim: config.headDim, dtype, deviceSafe: o.onDevice };
    const key = flushGraphKey(flushOptions);
    let session = opened.get(key);
    if (!session) {
      session = cachedGraph(key, () => buildFlushGraph(flushOptions).graph).then((encoded) => createInferenceSession(encoded, o.provider, sessionOptionsFor(codec)));
      opened.set(key, session);
    }
    return session;
  };
  const stores = {} as Record<KvKind, KvStore>;
  for (const kind of KV_KINDS) {
    const sessions: FlushSessions[] = [];
    for (const layer of codecs) {
      if (o.reserve) {
        sessions.push({ grow: await open(layer[kind], 'place'), start: null });
        continue;
      }
      const grow = await open(layer[kind], policy.residualMode === 'requantize' ? 'requantize' : 'append');
      const start = await open(layer[kind], 'start');
      sessions.push({ grow, start });
    }
    let reserves: StoreReserves | null = null;
    if (o.reserve) {
      const graphOptions = { provider: o.provider, sessionOptions: o.sessionOptions, onDevice: o.onDevice };
      const byCodec = new Map<string, Promise<CacheReserve>>();
      const historyReserve = (codec: TensorCodec) => {
        let r = byCodec.get(codec.key);
        if (!r) byCodec.set(codec.key, (r = CacheReserve.open(graphOptions, codec.format('rows'))));
        return r;
      };
      reserves = {
        residual: await CacheReserve.open(graphOptions, [{ dtype, shape: [1, config.kvHeads, 'rows', config.headDim] }]),
        history: await Promise.all(codecs.map((c) => historyReserve(c[kind]))),
      };
    }
    stores[kind] = new QuantizedStore(kind, codecs.map((c) => c[kind]), sessions, kindQuantum(codecs, kind), o, reserves);
  }
  const history: Record<KvKind, HistorySpec> =
    policy.mode === 'packed'
      ? (() => {
          const reader = packedHistoryReader(codecs, dtype, { lookupTables: o.onDevice, arithmetic: o.historyArithmetic });
          return { key: { kind: 'packed', reader }, value: { kind: 'packed', reader } };
        })()
      : { key: { kind: 'float' }, value: { kind: 'float' } };
  return { stores, history, codecs };
}
