// Number and label formatting shared by server and client components (no Node or browser APIs).

export function bitsLabel(keyBits: number, valueBits: number): string {
  return keyBits === 16 && valueBits === 16 ? 'fp16' : `K${keyBits}V${valueBits}`;
}

/**
 * A run's name as the dashboard shows it: the server's runLabel (protocol: "K4V2", "K4V2 WHT",
 * "TQ-KQV 3b", "budget 4 (spectral)"), "fp16" for the full-precision cache.
 */
export function runDisplayLabel(r: { keyBits: number; valueBits: number; label?: string | null }): string {
  if (r.keyBits === 16 && r.valueBits === 16) return 'fp16';
  return r.label ?? bitsLabel(r.keyBits, r.valueBits);
}

/** The config variant of a stored run (the issue 6 fields of its canonical config; absent = default). */
export interface VariantFields {
  rotation?: string;
  turboScheme?: string;
  budget?: number;
  bitRange?: number[];
  budgetScore?: string;
  budgetSource?: string;
  groupBudget?: number | null;
}

/** The variant in words for setting descriptions ("", "WHT", "TurboQuant KQV", "budget spectral (weights, 1,1.58,2,4,6,8)"). */
export function variantText(v: VariantFields | null | undefined): string {
  if (!v) return '';
  const parts: string[] = [];
  if (v.turboScheme) parts.push(`TurboQuant ${v.turboScheme}`);
  if (v.budget !== undefined) {
    parts.push(`budget ${v.budgetScore ?? 'spectral'} (${v.budgetSource ?? 'weights'}, ${(v.bitRange ?? []).join(',')}${v.groupBudget ? `, G~${v.groupBudget}` : ''})`);
  }
  if (v.rotation === 'hadamard') parts.push('WHT');
  return parts.join(' ');
}

/** Significant digits without trailing noise: 3.78491 -> "3.785", 0.0429 -> "0.04294". */
export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5) return v.toExponential(2);
  if (abs >= 100) return Number.isInteger(v) ? String(v) : v.toFixed(1);
  return Number(v.toPrecision(digits)).toString();
}

export function signed(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${num(Math.abs(v), digits)}`;
}

export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v < 1024) return `${num(v, 4)} B`;
  if (v < 1024 ** 2) return `${num(v / 1024, 4)} KiB`;
  if (v < 1024 ** 3) return `${num(v / 1024 ** 2, 4)} MiB`;
  return `${num(v / 1024 ** 3, 4)} GiB`;
}

export function percent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${(v * 100).toFixed(1)}%`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 1) return '<1 s';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** ISO date-time in UTC, minute precision: the same text on the server and in every browser. */
export function dateTime(d: Date | string | null | undefined): string {
  if (!d) return '–';
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return '–';
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/** Perplexity, KL and error rates: lower is better; accuracies and agreement: higher is better. */
export function lowerIsBetter(metric: string | null | undefined): boolean {
  return !!metric && /perplexity|ppl|kl|nll|error|loss/i.test(metric);
}

/** Order the two bit counts so K4V2 and K2V4 share one key. */
export function pairKey(keyBits: number, valueBits: number): string {
  return keyBits >= valueBits ? `${keyBits}/${valueBits}` : `${valueBits}/${keyBits}`;
}
