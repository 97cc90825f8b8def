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
  FLUSH_TOKENS,
  flushGraphKey,
  flushHistoryIn,
  flushHistoryOut,
  NON_FINITE,
  type FlushGraphOptions,
} from '../graph/cache-graphs';
import { packedHistoryReader } from '../graph/packed-history';
import type { ModelConfig } from '../model';
import { cachedGraph } from './graph-cache';
import type { KvSlot, KvStore } from './kv-store';
import { createInferenceSession, type SessionOptions } from './providers';
import { emptyFloatTensor, int64Tensor, zeroFloatTensor } from './tensors';

export interface QuantizedStoreOptions {
  config: ModelConfig;
  policy: CachePolicy;
  dtype: GraphDtype;
  provider: ExecutionProvider;
  sessionOptions: SessionOptions;
  onDevice: boolean;
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
    const history =
      this.historyKind === 'packed'
        ? emptyPacked(this.codecs[layer], this.quantum)
        : [zeroFloatTensor(dtype, config.kvHeads, this.quantum, config.headDim)];
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
    const out = await session.run(feeds);
    this.nonFiniteCount += (out[NON_FINITE].data as Float32Array)[0];
    return {
      history: parts.map((part) => out[flushHistoryOut(part)]),
      historyTokens: slot.historyTokens + tokens,
      residual: out[FLUSH_RESIDUAL_OUT],
      residualTokens: slot.residualTokens - tokens,
    };
  }

  nonFinite(): number {
    return this.nonFiniteCount;
  }

  async dispose(): Promise<void> {
    for (const session of this.sessions.flatMap((s) => [s.grow, s.start])) {
      if (session && !released.has(session)) {
        released.add(session);
        await session.release();
      }
    }
  }
}

/** Builds the key and value stores and the decoder's history specs for a quantized policy. */
export async function quantizedStores(o: QuantizedStoreOptions): Promise<{ stores: Record<KvKind, KvStore>; history: Record<KvKind, HistorySpec>; codecs: LayerCodecs[] }> {
  const { config, policy, dtype } = o;
  const codecs = layerCodecs(policy, config)!;
  for (const layer of codecs) for (const kind of KV_KINDS) layer[kind].checkGraph();
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
      const grow = await open(layer[kind], policy.residualMode === 'requantize' ? 'requantize' : 'append');
      const start = await open(layer[kind], 'start');
      sessions.push({ grow, start });
    }
    stores[kind] = new QuantizedStore(kind, codecs.map((c) => c[kind]), sessions, kindQuantum(codecs, kind), o);
  }
  const history: Record<KvKind, HistorySpec> =
    policy.mode === 'packed'
      ? (() => {
          const reader = packedHistoryReader(codecs, dtype, { lookupTables: o.onDevice });
          return { key: { kind: 'packed', reader }, value: { kind: 'packed', reader } };
        })()
      : { key: { kind: 'float' }, value: { kind: 'float' } };
  return { stores, history, codecs };
}
