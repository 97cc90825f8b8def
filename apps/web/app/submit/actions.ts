'use server';
// The submit form's live check, on the server so it runs the shared protocol code itself (zod schemas,
// sweep expansion, memory planner) rather than a browser copy that could drift from what the API accepts.
import { DEVICE_CLASSES, ValidationError, expandSweep, planMemory, runLabel, safeParseRunConfig, type RunConfig } from '@kvbench/protocol';
import type { CheckResult, MemoryRow, SubmitMode } from '../../components/submit/types';

const GiB = 1024 ** 3;
// The planner's allowances (packages/protocol/src/planner.ts): 10% on weights + KV, plus 0.5 GiB runtime.
const OVERHEAD_FRACTION = 0.1;
const RUNTIME_OVERHEAD_BYTES = 0.5 * GiB;
const MAX_MEMORY_ROWS = 24;

function memoryRow(c: RunConfig): MemoryRow {
  const plan = planMemory(c);
  const residual = c.residualLength ?? 0;
  const maxContext = DEVICE_CLASSES.filter((d) => d.kind === 'gpu').map((d) => {
    // (weights + (T - R) * perToken + R * fp16) * (1 + overhead) + runtime <= memory, solved for T.
    const room = (d.memoryBytes - RUNTIME_OVERHEAD_BYTES) / (1 + OVERHEAD_FRACTION) - plan.weightsBytes - residual * plan.fp16KvBytesPerToken;
    const perToken = plan.kvBytesPerToken || plan.fp16KvBytesPerToken;
    const tokens = room <= 0 || !perToken ? null : Math.floor(room / perToken) + residual;
    return { deviceClass: d.name, memoryBytes: d.memoryBytes, tokens };
  });
  const groups = (g: number | null) => g ?? `~${c.groupBudget} per layer`;
  const layout = c.backend === 'turbo' ? `turbo ${c.turboScheme}` : `${c.backend} K ${c.keyAxis}/${groups(c.keyGroupSize)} V ${c.valueAxis}/${groups(c.valueGroupSize)}${c.rotation ? ' WHT' : ''}`;
  const quantizer = c.backend ? `${layout}${plan.kvNote?.startsWith('estimate') ? ' (bytes: uniform estimate)' : ''}` : 'full precision';
  return {
    model: c.model,
    bits: runLabel(c),
    quantizer,
    kvBytesPerToken: plan.kvBytesPerToken,
    fp16BytesPerToken: plan.fp16KvBytesPerToken,
    weightsBytes: plan.weightsBytes,
    deviceClass: plan.deviceClass,
    reason: plan.reason,
    maxContext,
  };
}

export async function checkSubmission(mode: SubmitMode, input: unknown): Promise<CheckResult> {
  const empty: CheckResult = { issues: [], cells: null, duplicates: 0, skipped: [], memory: [], memoryOmitted: 0 };
  if (mode === 'single') {
    const r = safeParseRunConfig(input);
    if (!r.ok) return { ...empty, issues: r.issues };
    return { ...empty, cells: 1, memory: [memoryRow(r.config)] };
  }
  try {
    const expansion = expandSweep(input);
    // One memory row per distinct (model, bits, quantizer): benchmarks and residuals do not change bytes/token.
    const seen = new Map<string, MemoryRow>();
    for (const cell of expansion.cells) {
      const c = cell.config;
      const key = [c.model, runLabel(c), c.backend, c.keyAxis, c.valueAxis, c.keyGroupSize, c.valueGroupSize].join('|');
      if (!seen.has(key)) seen.set(key, memoryRow(c));
    }
    const memory = [...seen.values()];
    return {
      ...empty,
      cells: expansion.cells.length,
      duplicates: expansion.duplicates,
      skipped: expansion.skipped,
      memory: memory.slice(0, MAX_MEMORY_ROWS),
      memoryOmitted: Math.max(0, memory.length - MAX_MEMORY_ROWS),
    };
  } catch (err) {
    if (err instanceof ValidationError) return { ...empty, issues: [...err.issues, ...baseIssues(input, err.issues)] };
    throw err;
  }
}

/**
 * The shared run fields of a sweep (`base`) are only checked per cell, after the grid itself parses;
 * checking them on a stand-in cell too shows every problem of the form at once, not in rounds.
 */
function baseIssues(input: unknown, already: { field: string }[]): { field: string; message: string }[] {
  const base = (input as { base?: Record<string, unknown> })?.base;
  if (!base || typeof base !== 'object') return [];
  // budget mode fills the bits itself (round(budget)); a stand-in pair would contradict it
  const bits = typeof base.budget === 'number' ? {} : { keyBits: 4, valueBits: 4 };
  const r = safeParseRunConfig({ model: 'stories260k', benchmark: 'tinystories', ...bits, ...base });
  if (r.ok) return [];
  const seen = new Set(already.map((i) => i.field));
  return r.issues.filter((i) => i.field.split('.')[0] in base && !seen.has(`base.${i.field}`)).map((i) => ({ field: `base.${i.field}`, message: i.message }));
}
