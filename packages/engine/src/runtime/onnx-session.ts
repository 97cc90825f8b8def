// DecoderSession on ONNX Runtime: one decoder graph (prefill and decode steps share it) plus, for a
// quantized cache, the cache graphs that move residual tokens into the packed history. The JS side is
// the state machine: it holds the cache tensors between runs and decides when to flush.
import * as ort from 'onnxruntime-node';
import type { CachePolicy, ExecutionProvider, LayerStat, WeightPrecision } from '../evaluation';
import { ATTENTION_BIAS, HISTORY_ROWS, historyTokensName, INPUT_IDS, KV_KINDS, LOGITS, ONE_TOKEN, POSITION_IDS, pastName, presentName, RESERVE_PADS_INPUT, RESIDUAL_END, SEQLENS_K, TOTAL_SEQUENCE_LENGTH, type GraphDtype, type KvKind } from '../graph';
import type { ModelConfig } from '../model';
import type { DecoderSession, KvMemory } from '../session';
import { attentionBias } from './attention-bias';
import { reservePads } from '../graph/cache-reserve';
import { powerOfTwoParts, prefillRuns, reservedRows } from './cache-reserve';
import { prefillQuantizedTokens, stepFlushTokens } from './cache-schedule';
import { DeviceTensorKeeper } from './device-tensors';
import type { LayerCodecs } from '../codec';
import type { KvSlot, KvStore } from './kv-store';
import { LAYER_STATS_TOKENS, layerStatRows, leadingTokens, tensorStats } from './layer-stats';
import { int32Tensor, int64Tensor, tensorBytes } from './tensors';

export interface SessionParts {
  config: ModelConfig;
  policy: CachePolicy;
  provider: ExecutionProvider;
  dtype: GraphDtype;
  maxContext: number;
  /** Longest run of tokens per decoder run during prefill. */
  prefillChunk: number;
  /** See DecoderGraphOptions.alignedHistory. */
  alignedHistory: boolean;
  /** 'fused' (DecoderGraphOptions.fusedAttention): the decoder takes lengths instead of positions and a mask. Default 'plain'. */
  attention?: 'plain' | 'fused';
  decoder: ort.InferenceSession;
  /** Names of the history inputs of layer l, kind k, in the order of KvSlot.history. */
  historyInputs: (layer: number, kind: KvKind) => string[];
  stores: Record<KvKind, KvStore>;
  /** Per layer, how keys and values are coded (null: full precision). */
  codecs?: LayerCodecs[] | null;
  /** Positions of the first prefill that layerStats() is computed on; 0 = none (default LAYER_STATS_TOKENS). */
  layerStatsTokens?: number;
  /** The linear layers' weight precision the decoder graph was built with (default 16). */
  weights?: WeightPrecision;
  /** DecoderGraphOptions.splitKChunk the decoder was built with (> 0: it takes ONE_TOKEN). Default 0. */
  splitKChunk?: number;
  /** Rows reserved ahead in the cache (kvRows 'reserve'; the stores were opened with it). Default false. */
  reservedRows?: boolean;
}

interface Snapshot {
  owner: OnnxDecoderSession;
  slots: KvSlot[][];
  position: number;
}

export class OnnxDecoderSession implements DecoderSession {
  readonly provider: ExecutionProvider;
  readonly policy: CachePolicy;
  readonly vocabSize: number;
  readonly weights: WeightPrecision;
  readonly dtype: GraphDtype;
  readonly maxContext: number;
  readonly prefillChunk: number;
  private readonly alignedHistory: boolean;
  readonly attention: 'plain' | 'fused';
  /** Terms per partial sum of the split-K projections (graph/split-k.ts); 0: one MatMul each. */
  readonly splitKChunk: number;
  private readonly config: ModelConfig;
  private readonly decoder: ort.InferenceSession;
  private readonly stores: Record<KvKind, KvStore>;
  private readonly historyInputs: SessionParts['historyInputs'];
  private readonly codecs: LayerCodecs[] | null;
  private readonly reservedRows: boolean;
  /** slots[layer][0 = key, 1 = value] */
  private slots: KvSlot[][];
  private position = 0;
  private disposed = false;
  private readonly deviceTensors: DeviceTensorKeeper;
  private readonly layerStatsTokens: number;
  /** True until the next prefill has captured (or skipped) the per-layer statistics. */
  private layerStatsArmed = true;
  private capturedStats: LayerStat[] = [];
  private statsSource = 'not captured yet (no prefill)';

  constructor(parts: SessionParts) {
    this.config = parts.config;
    this.policy = parts.policy;
    this.provider = parts.provider;
    this.dtype = parts.dtype;
    this.maxContext = parts.maxContext;
    this.prefillChunk = parts.prefillChunk;
    this.alignedHistory = parts.alignedHistory;
    this.attention = parts.attention ?? 'plain';
    this.splitKChunk = parts.splitKChunk ?? 0;
    this.vocabSize = parts.config.vocabSize;
    this.weights = parts.weights ?? { bits: 16 };
    this.decoder = parts.decoder;
    this.stores = parts.stores;
    this.historyInputs = parts.historyInputs;
    this.codecs = parts.codecs ?? null;
    this.reservedRows = parts.reservedRows ?? false;
    this.deviceTensors = new DeviceTensorKeeper(parts.provider !== 'cpu');
    this.slots = this.emptySlots();
    this.layerStatsTokens = parts.layerStatsTokens ?? LAYER_STATS_TOKENS;
    if (this.layerStatsTokens === 0) this.statsSource = 'off (layerStatsTokens 0)';
  }

  /** Replaces the cache state; on GPUs, tensors no longer held are released. */
  private setSlots(slots: KvSlot[][]): void {
    this.slots = slots;
    this.deviceTensors.setLive(slots.flatMap((layer) => layer.flatMap((slot) => [...slot.history, slot.residual])));
  }

  private emptySlots(): KvSlot[][] {
    return Array.from({ length: this.config.layers }, (_, l) => KV_KINDS.map((k) => this.stores[k].emptySlot(l)));
  }

  reset(): void {
    this.setSlots(this.emptySlots());
    this.position = 0;
  }

  async prefill(tokens: number[]): Promise<Float32Array> {
    if (!Array.isArray(tokens) || tokens.length === 0) throw new Error('tokens: prefill needs at least one token');
    this.reset();
    const logits = await this.runChunked(tokens);
    // Before the flush: the residual now holds every prefill token in full precision.
    if (this.layerStatsArmed && this.layerStatsTokens > 0) this.captureLayerStats();
    await this.flush((kind, slot) => prefillQuantizedTokens(slot.residualTokens, this.policy, this.stores[kind].quantum));
    return logits;
  }

  /**
   * Feeds several tokens after the current context in one exact pass (chunked like prefill), then
   * applies the decode-step flush rule once. Same cache as that many steps except that attention among
   * the new tokens is exact; used to build long contexts quickly (benchmarks).
   */
  async append(tokens: number[]): Promise<Float32Array> {
    if (!Array.isArray(tokens) || tokens.length === 0) throw new Error('tokens: append needs at least one token');
    const logits = await this.runChunked(tokens);
    await this.flush((kind, slot) => stepFlushTokens(slot.residualTokens, this.policy, this.stores[kind].quantum));
    return logits;
  }

  async step(token: number): Promise<Float32Array> {
    const logits = await this.run([token]);
    await this.flush((kind, slot) => stepFlushTokens(slot.residualTokens, this.policy, this.stores[kind].quantum));
    return logits;
  }

  /** The cache's rows as resolved (OnnxSessionOptions.kvRows). */
  get kvRows(): 'exact' | 'reserve' {
    return this.reservedRows ? 'reserve' : 'exact';
  }

  /**
   * Long inputs go through the graph in chunks: the attention scores of one run are chunk x context.
   * With reserved rows the last chunk is cut into powers of two (prefillRuns), so runs keep a few lengths.
   */
  private async runChunked(tokens: number[]): Promise<Float32Array> {
    let logits!: Float32Array;
    let start = 0;
    for (const n of prefillRuns(tokens.length, this.prefillChunk, this.reservedRows)) {
      logits = await this.run(tokens.slice(start, start + n));
      start += n;
    }
    return logits;
  }

  /** One decoder run over `tokens` at the current position; the new K/V join the residual. */
  private async run(tokens: number[]): Promise<Float32Array> {
    this.checkUsable();
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) throw new Error(`tokens: ${t} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    const start = this.position;
    if (start + tokens.length > this.maxContext) {
      throw new Error(`maxContext: position ${start + tokens.length} exceeds the session's maxContext ${this.maxContext}`);
    }
    if (this.reservedRows) await this.reserveRows(tokens.length);
    // Aligned histories are attended in place: the bias masks a placeholder's rows (see graph/attention.ts).
    const keySlot = this.slots[0][0];
    const placeholder = this.alignedHistory && keySlot.historyTokens === 0 ? this.stores.key.placeholderRows : 0;
    const feeds: Record<string, ort.Tensor> = { [INPUT_IDS]: int64Tensor(tokens) };
    if (this.splitKChunk > 0) feeds[ONE_TOKEN] = new ort.Tensor('bool', [tokens.length === 1], []);
    if (this.attention === 'fused') {
      feeds[SEQLENS_K] = int32Tensor([start + tokens.length - 1]);
      feeds[TOTAL_SEQUENCE_LENGTH] = int32Tensor([start + tokens.length], true);
    } else {
      feeds[POSITION_IDS] = int64Tensor(tokens.map((_, i) => start + i));
      feeds[ATTENTION_BIAS] = attentionBias(start, tokens.length, this.config.slidingWindow, this.dtype, this.config.heads / this.config.kvHeads, placeholder);
    }
    if (this.alignedHistory) {
      feeds[HISTORY_ROWS] = int64Tensor([placeholder || keySlot.historyTokens]);
    } else {
      for (const kind of KV_KINDS) {
        if (this.stores[kind].historyKind !== 'none') feeds[historyTokensName(kind)] = int64Tensor([this.slots[0][KV_KINDS.indexOf(kind)].historyTokens]);
      }
    }
    if (this.reservedRows && this.stores.key.historyKind !== 'none') {
      // The residual goes over the history's spare rows from its tokens on (cache-reserve.ts).
      const h = keySlot.historyTokens;
      const rows = keySlot.residual.dims[2];
      feeds[RESERVE_PADS_INPUT] = int64Tensor(reservePads({ before: h, rows, total: keySlot.history[0].dims[2] }));
      feeds[RESIDUAL_END] = int64Tensor([h + rows]);
    }
    this.slots.forEach((layerSlots, l) =>
      KV_KINDS.forEach((kind, k) => {
        const slot = layerSlots[k];
        this.historyInputs(l, kind).forEach((name, i) => (feeds[name] = slot.history[i]));
        feeds[pastName(l, kind, 'residual')] = slot.residual;
      }),
    );
    const out = await this.decoder.run(feeds);
    this.setSlots(this.slots.map((layerSlots, l) =>
      layerSlots.map((slot, k) => ({
        ...slot,
        residual: out[presentName(l, KV_KINDS[k], 'residual')],
        residualTokens: slot.residualTokens + tokens.length,
      })),
    ));
    this.position = start + tokens.length;
    return out[LOGITS].data as Float32Array;
  }

  /**
   * Gives every slot room for a run of `tokens` (cache-reserve.ts): the residual for its tokens plus the
   * run's, the history for its tokens plus the residual's rows (the decoder lays the residual over them).
   * Slots are aligned (one flush schedule), so the first one speaks for all.
   */
  private async reserveRows(tokens: number): Promise<void> {
    const first = this.slots[0][0];
    const residualRows = first.residual.dims[2];
    const residualNeed = first.residualTokens + tokens;
    const rung = reservedRows(residualNeed, this.maxContext);
    // The residual shrinks back once a flush has emptied rows it grew for (a long prompt): the history
    // must hold its rows past its tokens, and a packed history's spare rows are dequantized at every
    // step (an 8k prompt in one prefill left K4V2 steps at 26 ms against 19 ms after 512-token pieces,
    // bench/results/gpu-alternate-sessions.md). Only at twice the rung, so steps do not go back and forth.
    const residual = residualNeed > residualRows || residualRows > 2 * rung ? rung : residualRows;
    const historyRows = first.history.length > 0 ? first.history[0].dims[2] : 0;
    const historyNeed = this.stores.key.historyKind === 'none' ? 0 : first.historyTokens + residual;
    const history = historyNeed > historyRows ? reservedRows(historyNeed, this.maxContext + residual) : historyRows;
    if (residual === residualRows && history === historyRows) return;
    const slots: KvSlot[][] = [];
    for (let l = 0; l < this.slots.length; l++) {
      const grown: KvSlot[] = [];
      for (let k = 0; k < KV_KINDS.length; k++) grown.push(await this.stores[KV_KINDS[k]].reserve(l, this.slots[l][k], { residual, history }));
      slots.push(grown);
    }
    this.setSlots(slots);
  }

  /**
   * Applies the policy: per layer and kind, moves `count(kind, slot)` residual tokens into the history.
   * With reserved rows in rounds of power-of-two numbers of quanta (a prefill's flush has its prompt's
   * length); each round's state goes through setSlots, so the device tensors it replaced are released.
   */
  private async flush(count: (kind: KvKind, slot: KvSlot) => number): Promise<void> {
    const parts = this.slots.map((layerSlots) =>
      layerSlots.map((slot, k) => {
        const store = this.stores[KV_KINDS[k]];
        const n = Number.isFinite(store.quantum) ? count(KV_KINDS[k], slot) : 0;
        if (n === 0) return [];
        return this.reservedRows ? powerOfTwoParts(n / store.quantum).map((q) => q * store.quantum) : [n];
      }),
    );
    const rounds = Math.max(0, ...parts.flat().map((p) => p.length));
    for (let round = 0; round < rounds; round++) {
      const next: KvSlot[][] = [];
      for (let l = 0; l < this.slots.length; l++) {
        const layerSlots: KvSlot[] = [];
        for (let k = 0; k < KV_KINDS.length; k++) {
          const part = parts[l][k][round];
          layerSlots.push(part ? await this.stores[KV_KINDS[k]].flush(l, this.slots[l][k], part) : this.slots[l][k]);
        }
        next.push(layerSlots);
      }
      this.setSlots(next);
    }
  }

  /**
   * Computes the per-layer statistics (layer-stats.ts) of the keys and values of the first
   * min(prefill length, layerStatsTokens) positions, read from the residual outputs. CPU only: on GPU
   * providers the residual lives in device buffers, and reading those back (getData) brings the process
   * down, so the statistics are skipped there and layerStatsSource() says so.
   */
  private captureLayerStats(): void {
    this.layerStatsArmed = false;
    this.capturedStats = [];
    const residuals = this.slots.flatMap((layer) => layer.map((slot) => slot.residual));
    if (this.provider !== 'cpu' || residuals.some((t) => t.location !== 'cpu')) {
      this.statsSource = `skipped: the ${this.provider} provider keeps the cache in device buffers, which are not read back`;
      return;
    }
    const tokens = Math.min(this.slots[0][0].residualTokens, this.layerStatsTokens);
    const { kvHeads, headDim } = this.config;
    const codecs = this.codecs;
    this.slots.forEach((layerSlots, layer) =>
      KV_KINDS.forEach((kind, k) => {
        const x = leadingTokens(layerSlots[k].residual, tokens);
        const stats = tensorStats(x, [1, kvHeads, tokens, headDim], codecs ? codecs[layer][kind] : null);
        this.capturedStats.push(...layerStatRows(layer, kind === 'key' ? 'k' : 'v', stats));
      }),
    );
    this.statsSource = `onnx ${this.provider}: full-precision K/V of the first ${tokens} positions of the first prefill${codecs ? ", relError from one quantize/dequantize with the run's quantizers" : ''}`;
  }

  /** Per layer, keys and values: frobenius, rmsPerToken, meanNorm, maxAbs (+ relError when quantized); [] before the first prefill or on GPUs. */
  layerStats(): LayerStat[] {
    return this.capturedStats.map((s) => ({ ...s }));
  }

  /** Where layerStats() come from, or why there are none (recorded in the result's protocolRecord). */
  layerStatsSource(): string {
    return this.statsSource;
  }

  /** Captures the statistics again at the next prefill (a pooled session starting a new evaluation). */
  restartLayerStats(): void {
    if (this.layerStatsTokens === 0) return;
    this.layerStatsArmed = true;
    this.capturedStats = [];
    this.statsSource = 'not captured yet (no prefill)';
  }

  snapshot(): unknown {
    const snap: Snapshot = { owner: this, slots: this.slots.map((s) => [...s]), position: this.position };
    this.deviceTensors.pin(snap, snap.slots.flatMap((layer) => layer.flatMap((slot) => [...slot.history, slot.residual])));
    return snap;
  }

  restore(snapshot: unknown): void {
    const snap = snapshot as Snapshot;
    if (!snap || snap.owner !== this) throw new Error('snapshot: not a snapshot of this session');
    this.setSlots(snap.slots.map((s) => [...s]));
    this.position = snap.position;
  }

  memory(): KvMemory {
    const { layers, kvHeads, headDim } = this.config;
    let heldBytes = 0;
    let reservedBytes = 0;
    let quantizedBytesPerToken = 0;
    for (const layerSlots of this.slots) {
      for (const slot of layerSlots) {
        // Rows reserved ahead (cache-reserve.ts: one row per token on axis 2) are allocated, not held by
        // tokens. Without them a history holds exactly its tokens (packed layouts need not have a row per
        // token), and an empty one is a shared placeholder, not cache state.
        const held = (tensors: ort.Tensor[], tokens: number) => {
          const bytes = tensors.reduce((n, t) => n + tensorBytes(t), 0);
          if (!this.reservedRows) return { tokens: tokens > 0 ? bytes : 0, all: tokens > 0 ? bytes : 0 };
          const rows = tensors.length > 0 ? tensors[0].dims[2] : 0;
          return { tokens: rows > 0 ? (bytes / rows) * tokens : 0, all: bytes };
        };
        const history = held(slot.history, slot.historyTokens);
        const residual = held([slot.residual], slot.residualTokens);
        const historyBytes = history.tokens;
        heldBytes += historyBytes + residual.tokens;
        reservedBytes += history.all + residual.all;
        if (slot.historyTokens > 0) quantizedBytesPerToken += historyBytes / slot.historyTokens;
      }
    }
    return {
      heldBytes,
      reservedBytes,
      tokens: this.position,
      quantizedBytesPerToken,
      fp16BytesPerToken: 2 * layers * kvHeads * headDim * 2,
    };
  }

  nonFinite(): number {
    return this.stores.key.nonFinite() + (this.stores.value === this.stores.key ? 0 : this.stores.value.nonFinite());
  }

  /** Tokens in the history and in the residual per layer and kind (tests, diagnostics). */
  cacheLayout(): { historyTokens: number; residualTokens: number }[][] {
    return this.slots.map((s) => s.map(({ historyTokens, residualTokens }) => ({ historyTokens, residualTokens })));
  }

  private checkUsable(): void {
    if (this.disposed) throw new Error('session: used after dispose()');
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.deviceTensors.releaseAll();
    await this.decoder.release();
    await this.stores.key.dispose();
    if (this.stores.value !== this.stores.key) await this.stores.value.dispose();
  }
}
