// Device memory of cache tensors on GPU providers. Every run returns new cache tensors; the ones they
// replace are released at once unless a live snapshot still holds them (then when the snapshot is
// garbage-collected and nothing else holds them). On the CPU the garbage collector does it all.
import type * as ort from 'onnxruntime-node';

export class DeviceTensorKeeper {
  /** Tensor -> number of live snapshots that hold it. */
  private readonly pins = new Map<ort.Tensor, number>();
  private live = new Set<ort.Tensor>();
  private readonly registry = new FinalizationRegistry<ort.Tensor[]>((tensors) => this.unpin(tensors));

  constructor(private readonly enabled: boolean) {}

  /** The tensors the session's state holds now; releases those it no longer holds. */
  setLive(tensors: Iterable<ort.Tensor>): void {
    if (!this.enabled) return;
    const next = new Set(tensors);
    for (const t of this.live) if (!next.has(t)) this.release(t);
    this.live = next;
  }

  /** A snapshot holds `tensors` until `holder` is collected. */
  pin(holder: object, tensors: ort.Tensor[]): void {
    if (!this.enabled) return;
    const onDevice = tensors.filter((t) => t.location === 'gpu-buffer');
    for (const t of onDevice) this.pins.set(t, (this.pins.get(t) ?? 0) + 1);
    this.registry.register(holder, onDevice);
  }

  private unpin(tensors: ort.Tensor[]): void {
    for (const t of tensors) {
      const n = (this.pins.get(t) ?? 1) - 1;
      if (n > 0) this.pins.set(t, n);
      else {
        this.pins.delete(t);
        if (!this.live.has(t)) this.release(t);
      }
    }
  }

  private release(t: ort.Tensor): void {
    if (t.location === 'gpu-buffer' && !this.pins.has(t)) t.dispose();
  }

  /** Releases everything (the session is gone; snapshots of it cannot be restored). */
  releaseAll(): void {
    if (!this.enabled) return;
    for (const t of [...this.live, ...this.pins.keys()]) if (t.location === 'gpu-buffer') t.dispose();
    this.live.clear();
    this.pins.clear();
  }
}
