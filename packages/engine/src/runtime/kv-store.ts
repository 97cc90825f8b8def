// How one kind (keys or values) of the cache is held between graph runs, per layer: a history
// (none, float, or packed codes + scales + zeros) and a full-precision residual, as ORT tensors that
// are never mutated (each run returns new ones), so a snapshot is just a copy of the references.
import type * as ort from 'onnxruntime-node';
import type { HistoryKind, KvKind } from '../graph';

export interface KvSlot {
  /** [] for no history; [values] for float history; [codes, scales, zeros] for packed. */
  history: ort.Tensor[];
  historyTokens: number;
  residual: ort.Tensor;
  residualTokens: number;
}

export interface KvStore {
  readonly kind: KvKind;
  readonly historyKind: HistoryKind;
  /** History grows in multiples of this many tokens; Infinity when nothing is ever quantized. */
  readonly quantum: number;
  /** Rows of the history tensor while the history is empty (a packed placeholder; 0 otherwise). */
  readonly placeholderRows: number;
  /** True: a flush re-quantizes dequant(history) ++ the flushed tokens; false: it appends a new block. */
  readonly requantize: boolean;
  /** The empty cache of one layer (layers may differ in format). */
  emptySlot(layer: number): KvSlot;
  /** Moves the first `tokens` residual tokens of `slot` into its history; returns the new slot. */
  flush(layer: number, slot: KvSlot, tokens: number): Promise<KvSlot>;
  /**
   * Rows reserved ahead (kvRows 'reserve', runtime/cache-reserve.ts; a store opened without it throws):
   * `slot` with `rows.residual` residual rows and `rows.history` history rows (a store without a history
   * ignores it); rows added are zero and hold no tokens, rows dropped must hold none.
   */
  reserve(layer: number, slot: KvSlot, rows: { residual: number; history: number }): Promise<KvSlot>;
  /** Non-finite inputs the quantizer met so far. */
  nonFinite(): number;
  dispose(): Promise<void>;
}
