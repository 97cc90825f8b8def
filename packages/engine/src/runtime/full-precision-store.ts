// The unquantized cache (quant null, b = 16): everything stays in the residual, nothing is flushed.
import type { GraphDtype, KvKind } from '../graph';
import type { CacheReserve } from './cache-reserve';
import type { KvSlot, KvStore } from './kv-store';
import { emptyFloatTensor, zeroFloatTensor } from './tensors';

export class FullPrecisionStore implements KvStore {
  readonly historyKind = 'none' as const;
  readonly quantum = Infinity;
  readonly requantize = false;
  readonly placeholderRows = 0;

  constructor(
    readonly kind: KvKind,
    private readonly dtype: GraphDtype,
    private readonly kvHeads: number,
    private readonly headDim: number,
    /** Grows the residual when rows are reserved ahead (kvRows 'reserve'); null: exact rows. */
    private readonly rows: CacheReserve | null = null,
  ) {}

  async reserve(_layer: number, slot: KvSlot, rows: { residual: number }): Promise<KvSlot> {
    if (!this.rows) throw new Error('this full-precision store keeps exact rows (opened without kvRows reserve)');
    const [residual] = await this.rows.reserve([slot.residual], slot.residualTokens, rows.residual, (n) => [zeroFloatTensor(this.dtype, this.kvHeads, n, this.headDim)]);
    return { ...slot, residual };
  }

  emptySlot(): KvSlot {
    return { history: [], historyTokens: 0, residual: emptyFloatTensor(this.dtype, this.kvHeads, this.headDim), residualTokens: 0 };
  }

  flush(): Promise<KvSlot> {
    return Promise.reject(new Error('a full-precision cache never moves tokens out of its residual'));
  }

  nonFinite(): number {
    return 0;
  }

  async dispose(): Promise<void> {
    await this.rows?.dispose();
  }
}
