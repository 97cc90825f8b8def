// Which failures are worth retrying. Bad configs and out-of-memory are not: they would fail the same way
// on the same device class, so they are unrecoverable with the reason recorded.
export type FailureKind = 'cancelled' | 'oom' | 'config' | 'transient';

const OOM = /out of memory|\bOOM\b|bad_alloc|failed to allocate|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|ERR_WORKER_OUT_OF_MEMORY|heap out of memory|Array buffer allocation failed|Invalid typed array length/i;
// The engine and the quantizers name the offending field ("model: ...", "cache.quant.key.bits: ...").
const CONFIG = /^(options|model|data|format|protocol|provider|prompt|maxTokens|limit|fewShot|cache(\.[\w.]+)?|key(\.\w+)?|value(\.\w+)?|bits|groupSize|axis|backend|metaDtype|hqqMode|seed)\s*:/;
const CONFIG_NAMES = new Set(['ValidationError', 'QuantConfigError', 'ModelNotAvailableError', 'ModelFormatError', 'TokenizerError', 'ConfigError']);

export function classifyFailure(err: unknown): FailureKind {
  const e = err as { name?: string; message?: string; code?: string } | undefined;
  const name = e?.name ?? '';
  const message = e?.message ?? String(err);
  if (name === 'AbortError') return 'cancelled';
  if (OOM.test(message) || e?.code === 'ERR_WORKER_OUT_OF_MEMORY') return 'oom';
  if (CONFIG_NAMES.has(name) || CONFIG.test(message) || e?.code === 'ENOENT') return 'config';
  return 'transient';
}
