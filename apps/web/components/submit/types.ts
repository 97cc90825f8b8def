// What the submit form sends to the server check and gets back (plain data across the action boundary).

export interface FieldIssue {
  field: string;
  message: string;
}

export interface MemoryRow {
  model: string;
  bits: string;
  quantizer: string;
  kvBytesPerToken: number;
  fp16BytesPerToken: number;
  weightsBytes: number;
  deviceClass: string | null;
  reason: string;
  /** longest context (tokens, batch 1) whose KV cache still fits, per GPU class; null = weights alone do not fit */
  maxContext: { deviceClass: string; memoryBytes: number; tokens: number | null }[];
}

export interface CheckResult {
  issues: FieldIssue[];
  /** cells after expansion (1 for a single run) */
  cells: number | null;
  duplicates: number;
  skipped: { keyBits: number; valueBits: number; reason: string }[];
  memory: MemoryRow[];
  /** memory rows left out of a large grid */
  memoryOmitted: number;
}

export type SubmitMode = 'single' | 'sweep';
