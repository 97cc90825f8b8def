// The submit form's state and how it becomes a run config or a sweep spec for the shared schemas.
import type { FieldIssue, SubmitMode } from './types';

export interface FormState {
  mode: SubmitMode;
  name: string;
  models: string[];
  benchmarks: string[];
  keyBits: string[];
  valueBits: string[];
  backends: string[];
  keyAxes: string[];
  valueAxes: string[];
  /** comma-separated lists: one value for a run, several for a sweep */
  groupSizes: string;
  residualLengths: string;
  limit: string;
  prompt: string;
  maxTokens: string;
  provider: string;
  /** 'float32' | 'float16': the model's arithmetic (sent only when float16) */
  computeDtype: string;
  /** 'none' | 'hadamard' (quanto and hqq only) */
  rotation: string;
  /** TurboQuant scheme, sent when the backends include turbo */
  turboScheme: string;
  /** budget mode when not empty: average bits; the bits choices are then round(budget) */
  budget: string;
  bitRange: string;
  budgetScore: string;
  budgetSource: string;
  groupBudget: string;
}

export const INITIAL_FORM: FormState = {
  mode: 'sweep',
  name: '',
  models: ['stories260k'],
  benchmarks: ['tinystories'],
  keyBits: ['2', '4'],
  valueBits: ['2', '4'],
  backends: ['quanto'],
  keyAxes: ['per-token'],
  valueAxes: ['per-token'],
  groupSizes: '8',
  residualLengths: '32',
  limit: '8',
  prompt: '64',
  maxTokens: '192',
  provider: 'cpu',
  computeDtype: 'float32',
  rotation: 'none',
  turboScheme: 'KQV',
  budget: '',
  bitRange: '',
  budgetScore: 'spectral',
  budgetSource: 'weights',
  groupBudget: '',
};

/** Whether the form is in budget mode (a budget typed in). */
export const budgetMode = (f: FormState) => f.budget.trim() !== '';

/** The rotation / TurboQuant / budget / compute dtype fields, only those that differ from the defaults or matter. */
function variantInput(f: FormState, backends: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.computeDtype && f.computeDtype !== 'float32') out.computeDtype = f.computeDtype;
  if (f.rotation && f.rotation !== 'none') out.rotation = f.rotation;
  if (backends.includes('turbo') && f.turboScheme) out.turboScheme = f.turboScheme;
  if (budgetMode(f)) {
    out.budget = number(f.budget);
    const range = numbers(f.bitRange);
    if (range) out.bitRange = range;
    out.budgetScore = f.budgetScore;
    out.budgetSource = f.budgetSource;
    const g = number(f.groupBudget);
    if (g !== undefined) out.groupBudget = g;
  }
  return out;
}

/** Empty means "use the default"; anything else goes to the schema as typed, so it can say what is wrong. */
const number = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s.trim()));
const numbers = (s: string): number[] | undefined => {
  const parts = s.split(',').map((x) => x.trim()).filter(Boolean);
  return parts.length ? parts.map(Number) : undefined;
};
const ints = (xs: string[]) => xs.map(Number);

export function runInput(f: FormState): Record<string, unknown> {
  const groups = numbers(f.groupSizes);
  const residuals = numbers(f.residualLengths);
  const budget = budgetMode(f);
  return {
    model: f.models[0] ?? '',
    benchmark: f.benchmarks[0] ?? '',
    // budget mode: the bits are round(budget), filled by the schema
    keyBits: !budget && f.keyBits.length ? Number(f.keyBits[0]) : undefined,
    valueBits: !budget && f.valueBits.length ? Number(f.valueBits[0]) : undefined,
    backend: f.backends[0],
    keyGroupSize: groups?.[0],
    valueGroupSize: groups?.[0],
    keyAxis: f.keyAxes[0],
    valueAxis: f.valueAxes[0],
    residualLength: residuals?.[0],
    limit: number(f.limit),
    prompt: number(f.prompt),
    maxTokens: number(f.maxTokens),
    provider: f.provider || undefined,
    ...variantInput(f, f.backends.slice(0, 1)),
  };
}

export function sweepSpec(f: FormState): Record<string, unknown> {
  const single = f.mode === 'single';
  const one = <T,>(xs: T[]) => (single ? xs.slice(0, 1) : xs);
  const groups = numbers(f.groupSizes);
  const residuals = numbers(f.residualLengths);
  const budget = budgetMode(f);
  const spec: Record<string, unknown> = {
    models: one(f.models),
    benchmarks: one(f.benchmarks),
    // budget mode: no bit grid, every cell's bits are round(budget)
    keyBits: budget ? undefined : ints(one(f.keyBits)),
    valueBits: budget ? undefined : ints(one(f.valueBits)),
    backends: one(f.backends),
    keyAxes: one(f.keyAxes),
    valueAxes: one(f.valueAxes),
    groupSizes: groups ? one(groups) : undefined,
    residualLengths: residuals ? one(residuals) : undefined,
    base: Object.fromEntries(
      Object.entries({ limit: number(f.limit), prompt: number(f.prompt), maxTokens: number(f.maxTokens), provider: f.provider || undefined, ...variantInput(f, one(f.backends)) }).filter(([, v]) => v !== undefined),
    ),
  };
  if (f.name.trim()) spec.name = f.name.trim();
  return spec;
}

/** The form control an issue belongs to: "models.1", "base.limit", "keyGroupSize" -> "models", "limit", "groupSizes". */
export function controlOf(field: string): string {
  const head = field.replace(/^base\./, '').split('.')[0];
  const map: Record<string, string> = {
    model: 'models',
    benchmark: 'benchmarks',
    backend: 'backends',
    keyAxis: 'keyAxes',
    valueAxis: 'valueAxes',
    keyGroupSize: 'groupSizes',
    valueGroupSize: 'groupSizes',
    keyGroupSizes: 'groupSizes',
    valueGroupSizes: 'groupSizes',
    residualLength: 'residualLengths',
    pairs: 'keyBits',
  };
  return map[head] ?? head;
}

export const CONTROLS = [
  'name', 'models', 'benchmarks', 'keyBits', 'valueBits', 'backends', 'keyAxes', 'valueAxes', 'groupSizes', 'residualLengths', 'limit', 'prompt', 'maxTokens', 'provider', 'computeDtype',
  'rotation', 'turboScheme', 'budget', 'bitRange', 'budgetScore', 'budgetSource', 'groupBudget',
];

/** zod's generic wording, said the way a form says it. */
export function friendly(message: string): string {
  if (/expected array to have >=1 items/.test(message)) return 'pick at least one';
  if (/received NaN/.test(message)) return 'not a number';
  return message;
}

/** Issues by control (first message wins), and those no control shows. */
export function issuesByControl(issues: FieldIssue[]): { byControl: Record<string, string>; other: FieldIssue[] } {
  const byControl: Record<string, string> = {};
  const other: FieldIssue[] = [];
  for (const i of issues) {
    const c = controlOf(i.field);
    if (CONTROLS.includes(c)) byControl[c] ??= friendly(i.message);
    else other.push({ ...i, message: friendly(i.message) });
  }
  return { byControl, other };
}
