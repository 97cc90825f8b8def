// The quantized cache of one kind (keys or values): packed codes + scales + zeros (or, in simulated
// mode, fake-quantized floats) plus the residual, moved along by the flush graph of graph/cache-graphs.
import * as ort from 'onnxruntime-node';
import { checkGraphLayout, type QuantizerConfig } from '@kvbench/quant';
import type { CachePolicy, ExecutionProvider } from '../evaluation';
import { type GraphDtype, type HistorySpec, type KvKind } from '../graph';
import {
  buildFlushGraph,
  FLUSH_RESIDUAL_IN,
  FLUSH_RESIDUAL_OUT,
  FLUSH_TOKENS,
  flushHistoryIn,
  flushHistoryOut,
  NON_FINITE,
  type FlushGraphOptions,
} from '../graph/cache-graphs';
import { PACKED_PARTS, packedFormat, packedHistoryReader } from '../graph/packed-history';
import type { ModelConfig } from '../model';
import { tokenQuantum } from './cache-schedule';
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
}

/** The placeholder of an empty packed history: one zero-filled quantum (see historyTokensName). */
function emptyPacked(quantizer: QuantizerConfig, kvHeads: number, headDim: number, quantum: number): ort.Tensor[] {
  const format = packedFormat(quantizer, kvHeads, headDim, quantum);
  return PACKED_PARTS.map((part) => {
    const { dtype, shape } = format[part];
    const dims = shape as number[];
    const n = dims.reduce((a, b) => a * b, 1);
    if (dtype === 'uint8') return new ort.Tensor('uint8', new Uint8Array(n), dims);
    if (dtype === 'float16') return new ort.Tensor('float16', new Uint16Array(n), dims);
    return new ort.Tensor('float32', new Float32Array(n), dims);
  });
}

/** The flush graphs of one kind: `grow` appends or requantizes; `start` quantizes into an empty packed history. */
export interface FlushSessions {
  grow: ort.InferenceSession;
  start: ort.InferenceSession | null;
}

/** Flush sessions may be shared by the key and value stores; each is released once. */
const released = new WeakSet<ort.InferenceSession>();

class QuantizedStore implements KvStore {
  readonly historyKind: 'packed' | 'float';
  readonly quantum: number;
  readonly requantize: boolean;
  readonly placeholderRows: number;
  private nonFiniteCount = 0;
  private readonly historyParts: (string | null)[];

  constructor(
    readonly kind: KvKind,
    private readonly quantizer: QuantizerConfig,
    private readonly sessions: FlushSessions,
    private readonly options: QuantizedStoreOptions,
  ) {
    const { config, policy } = options;
    this.historyKind = policy.mode === 'packed' ? 'packed' : 'float';
    this.requantize = policy.residualMode === 'requantize';
    this.quantum = tokenQuantum(quantizer, config.kvHeads, config.headDim);
    this.historyParts = this.historyKind === 'packed' ? [...PACKED_PARTS] : [null];
    // An empty history is a zero-filled placeholder of one quantum, never a zero-length tensor: the
    // emitters' per-channel unpacking and WebGPU's MatMul do not take zero-length inputs.
    this.placeholderRows = this.quantum;
  }

  emptySlot(): KvSlot {
    const { dtype, config } = this.options;
    const history =
      this.historyKind === 'packed'
        ? emptyPacked(this.quantizer, config.kvHeads, config.headDim, this.quantum)
        : [zeroFloatTensor(dtype, config.kvHeads, this.quantum, config.headDim)];
    return { history, historyTokens: 0, residual: emptyFloatTensor(dtype, config.kvHeads, config.headDim), residualTokens: 0 };
  }

  async flush(_layer: number, slot: KvSlot, tokens: number): Promise<KvSlot> {
    if (tokens <= 0 || tokens > slot.residualTokens || tokens % this.quantum !== 0) {
      throw new Error(`flush of ${tokens} tokens from a residual of ${slot.residualTokens} (quantum ${this.quantum})`);
    }
    const feeds: Record<string, ort.Tensor> = { [FLUSH_RESIDUAL_IN]: slot.residual, [FLUSH_TOKENS]: int64Tensor([tokens]) };
    const session = slot.historyTokens === 0 && this.sessions.start ? this.sessions.start : this.sessions.grow;
    if (session === this.sessions.grow) this.historyParts.forEach((part, i) => (feeds[flushHistoryIn(part)] = slot.history[i]));
    const out = await session.run(feeds);
    this.nonFiniteCount += (out[NON_FINITE].data as Float32Array)[0];
    return {
      history: this.historyParts.map((part) => out[flushHistoryOut(part)]),
      historyTokens: slot.historyTokens + tokens,
      residual: out[FLUSH_RESIDUAL_OUT],
      residualTokens: slot.residualTokens - tokens,
    };
  }

  nonFinite(): number {
    return this.nonFiniteCount;
  }

  async dispose(): Promise<void> {
    for (const session of [this.sessions.grow, this.sessions.start]) {
      if (session && !released.has(session)) {
        released.add(session);
        await session.release();
      }
    }
  }
}

/** Builds the key and value stores and the decoder's history specs for a quantized policy. */
export async function quantizedStores(o: QuantizedStoreOptions): Promise<{ stores: Record<KvKind, KvStore>; history: Record<KvKind, HistorySpec> }> {
  const { config, policy, dtype } = o;
  const quant = policy.quant!;
  const quantizers: Record<KvKind, QuantizerConfig> = { key: quant.key, value: quant.value };
  for (const kind of ['key', 'value'] as const) {
    try {
      checkGraphLayout(quantizers[kind], config.headDim, `cache.quant.${kind}`);
    } catch (error) {
      const field = (error as { field?: string }).field ?? `cache.quant.${kind}`;
      throw new CachePolicyError(field, (error as Error).message.replace(`${field}: `, ''));
    }
  }
  const stores = {} as Record<KvKind, KvStore>;
  const sessionOptions: SessionOptions = { ...o.sessionOptions };
  if (o.onDevice) {
    // History and residual stay on the device; only the non-finite count comes back.
    const parts = policy.mode === 'packed' ? [...PACKED_PARTS] : [null];
    const locations: Record<string, 'gpu-buffer' | 'cpu'> = { [NON_FINITE]: 'cpu', [FLUSH_RESIDUAL_OUT]: 'gpu-buffer' };
    for (const part of parts) locations[flushHistoryOut(part)] = 'gpu-buffer';
    sessionOptions.preferredOutputLocation = locations;
  }
  // Keys and values with the same quantizer share their flush sessions.
  const opened = new Map<string, Promise<ort.InferenceSession>>();
  const open = (kind: KvKind, flush: FlushGraphOptions['kind']): Promise<ort.InferenceSession> => {
    const flushOptions: FlushGraphOptions = {
      quantizer: quantizers[kind],
      mode: policy.mode,
      kind: flush,
      kvHeads: config.kvHeads,
      headDim: config.headDim,
      dtype,
      deviceSafe: o.onDevice,
    };
    const key = `flush|${JSON.stringify(flushOptions)}`;
    let session = opened.get(key);
    if (!session) {
      session = cachedGraph(key, () => buildFlushGraph(flushOptions).graph).then((encoded) => createInferenceSession(encoded, o.provider, sessionOptions));
      opened.set(key, session);
    }
    return session;
  };
  for (const kind of ['key', 'value'] as const) {
    const grow = await open(kind, policy.residualMode === 'requantize' ? 'requantize' : 'append');
    const start = await open(kind, 'start');
    stores[kind] = new QuantizedStore(kind, quantizers[kind], { grow, start }, o);
  }
  const history: Record<KvKind, HistorySpec> =
    policy.mode === 'packed'
      ? (() => {
          const reader = packedHistoryReader(quantizers, config.kvHeads, config.headDim, dtype);
          return { key: { kind: 'packed', reader }, value: { kind: 'packed', reader } };
        })()
      : { key: { kind: 'float' }, value: { kind: 'float' } };
  return { stores, history };
}
