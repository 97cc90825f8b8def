// A run: one model x benchmark x quantization config. Input is validated with zod, defaults are filled,
// and the canonical form (irrelevant fields nulled) is hashed: same config, same hash, whatever the key order.
import { z } from 'zod';
import { AXES, BACKENDS, HQQ_MODES, KVQ_BIT_RANGE, META_DTYPES, TURBO_SCHEMES } from '@kvbench/quant';
import { BENCHMARK_NAMES, DATA_FORMATS, PROTOCOLS, findBenchmark, type Protocol } from './benchmarks';
import { ValidationError, fieldErrors, type FieldError } from './errors';
import { canonicalJson, sha256Hex } from './hash';
import { findModel, isLocalModelPath, modelShapeSchema, KNOWN_MODELS, type ModelShape } from './models';

export const FULL_PRECISION_BITS = 16;
export const PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const PREFILL_POLICIES = ['quantize-all', 'keep-residual'] as const;
export const RESIDUAL_MODES = ['append', 'requantize'] as const;
export const CACHE_MODES = ['packed', 'simulated'] as const;
/** The quantizer families a run may pick: the grouped quantizers of @kvbench/quant, and TurboQuant. */
export const RUN_BACKENDS = [...BACKENDS, 'turbo'] as const;
export type RunBackend = (typeof RUN_BACKENDS)[number];
/** D'Alberto's schemes: KV = MSE on both, KQV = MSE on K and MSE+QJL (prod) on V, QKQV = prod on both. */
export const TURBO_SCHEME_NAMES = TURBO_SCHEMES;
export type TurboSchemeName = (typeof TURBO_SCHEMES)[number];
export const DEFAULT_TURBO_SCHEME: TurboSchemeName = 'KQV';
/** The arithmetic a run's model computes in (EvalOptions.dtype). */
export const COMPUTE_DTYPES = ['float32', 'float16'] as const;

/** none, or a randomized Walsh-Hadamard rotation of each head vector (seeded by the run's seed) before a grouped quantizer. */
export const ROTATIONS = ['none', 'hadamard'] as const;
export type RotationName = (typeof ROTATIONS)[number];
export const BUDGET_SCORES = ['frobenius', 'spectral'] as const;
export type BudgetScore = (typeof BUDGET_SCORES)[number];
/** Sensitivities from the norms of W_K / W_V, or from cached K / V on a sample of the run's data. */
export const BUDGET_SOURCES = ['weights', 'cache'] as const;
export type BudgetSource = (typeof BUDGET_SOURCES)[number];
/** kvq's widths: 1..8 bits, and ternary (log2 3 = 1.58, stored in 2 bits). */
export const TERNARY_BITS = 1.58;
export const DEFAULT_BIT_RANGE: readonly number[] = KVQ_BIT_RANGE;
/** Group budgets kvq's group allocator can meet (its group range is 16..256). */
export const GROUP_BUDGET_MIN = 16;
export const GROUP_BUDGET_MAX = 256;

/** Bump when the meaning of a canonical config changes, so old hashes are not reused. */
export const CONFIG_VERSION = 1;

export const bitsSchema = z
  .int({ error: 'must be an integer: 1..8, or 16 for full precision' })
  .refine((b) => (b >= 1 && b <= 8) || b === FULL_PRECISION_BITS, {
    error: (issue) => `got ${String(issue.input)}, allowed: integers 1..8, or 16 for full precision`,
  });

const positive = (max: number) => z.int().min(1).max(max);

/** One allowed width of a bit budget: an integer 1..8, or 1.58 (ternary). */
export const bitWidthSchema = z
  .number({ error: 'must be a number: an integer 1..8, or 1.58 (ternary)' })
  .refine((b) => (Number.isInteger(b) && b >= 1 && b <= 8) || b === TERNARY_BITS, {
    error: (issue) => `got ${String(issue.input)}, allowed: integers 1..8, or ${TERNARY_BITS} (ternary)`,
  });

/** The fields a person may send. Unknown fields are rejected (a typo must not silently run defaults). */
export const runConfigInputSchema = z.strictObject({
  model: z.string().trim().min(1).max(512),
  /** Required for a model outside the known table unless it is a local path the worker resolves. */
  modelShape: modelShapeSchema.optional(),
  benchmark: z.enum(BENCHMARK_NAMES),
  protocol: z.enum(PROTOCOLS).optional(),
  /** Required, except in budget mode (where both are round(budget); see safeParseRunConfig). */
  keyBits: bitsSchema.optional(),
  valueBits: bitsSchema.optional(),
  backend: z.enum(RUN_BACKENDS).default('quanto'),
  /** backend turbo: which TurboQuant method keys and values get (default KQV). */
  turboScheme: z.enum(TURBO_SCHEMES).optional(),
  /** quanto/hqq: a seeded randomized Walsh-Hadamard rotation of each head vector before quantizing. */
  rotation: z.enum(ROTATIONS).default('none'),
  /** Budget mode: average nominal bits per tensor; the allocator picks per-layer b_K, b_V from bitRange. */
  budget: z.number({ error: 'must be a number of bits (e.g. 3 or 4), or null' }).min(1).max(8).nullable().default(null),
  bitRange: z.array(bitWidthSchema).min(1).max(16).optional(),
  budgetScore: z.enum(BUDGET_SCORES).optional(),
  budgetSource: z.enum(BUDGET_SOURCES).optional(),
  /** Budget mode: average group size, spread over layers by sensitivity (null: every layer keeps the group size). */
  groupBudget: z.int().min(GROUP_BUDGET_MIN).max(GROUP_BUDGET_MAX).nullable().optional(),
  keyGroupSize: positive(65536).default(64),
  valueGroupSize: positive(65536).default(64),
  keyAxis: z.enum(AXES).default('per-token'),
  valueAxis: z.enum(AXES).default('per-token'),
  residualLength: z.int().min(0).max(1 << 20).default(128),
  limit: positive(100_000).default(20),
  provider: z.enum(PROVIDERS).default('cpu'),
  prompt: positive(1 << 20).default(64),
  maxTokens: positive(1 << 20).default(256),
  fewShot: z.int().min(0).max(64).optional(),
  prefill: z.enum(PREFILL_POLICIES).default('quantize-all'),
  residualMode: z.enum(RESIDUAL_MODES).default('append'),
  metaDtype: z.enum(META_DTYPES).default('fp16'),
  hqqMode: z.enum(HQQ_MODES).default('faithful'),
  cacheMode: z.enum(CACHE_MODES).default('packed'),
  seed: z.int().min(0).max(2 ** 31 - 1).default(0),
  batch: positive(4096).default(1),
  /** Arithmetic of the model and its full-precision cache: float32, or float16 as GPUs serve models. */
  computeDtype: z.enum(COMPUTE_DTYPES).default('float32'),
});
export type RunConfigInput = z.input<typeof runConfigInputSchema>;
type Parsed = z.output<typeof runConfigInputSchema>;

type QuantOnly = 'keyGroupSize' | 'valueGroupSize' | 'keyAxis' | 'valueAxis' | 'residualLength' | 'prefill' | 'residualMode' | 'metaDtype' | 'hqqMode' | 'cacheMode';

/**
 * The issue 6 variants of a canonical config. They are absent (not null) at their defaults, so every
 * config from before them keeps its canonical JSON and its hash: rotation only when 'hadamard';
 * turboScheme only with backend turbo; budget, bitRange (sorted, distinct), budgetScore, budgetSource
 * and groupBudget only in budget mode.
 */
export interface RunVariant {
  rotation?: 'hadamard';
  turboScheme?: TurboSchemeName;
  budget?: number;
  bitRange?: number[];
  budgetScore?: BudgetScore;
  budgetSource?: BudgetSource;
  groupBudget?: number | null;
  /** Only when 'float16' (float32, the default, is absent: configs from before it keep their hash). */
  computeDtype?: 'float16';
}
type VariantInput = 'turboScheme' | 'rotation' | 'budget' | 'bitRange' | 'budgetScore' | 'budgetSource' | 'groupBudget' | 'computeDtype';

/**
 * The canonical run config. Fields that cannot change the result are null: every quantizer field when
 * keyBits = valueBits = 16 (full precision), hqqMode unless backend = hqq, the group sizes, axes and
 * metaDtype with backend turbo (and the group sizes in budget mode with a groupBudget), fewShot unless
 * gen-exact, modelShape for known models. In budget mode keyBits = valueBits = round(budget): the columns,
 * heatmaps and sorts keep working; labels come from runLabel.
 */
export type RunConfig = Omit<Parsed, 'protocol' | 'modelShape' | 'fewShot' | 'keyBits' | 'valueBits' | 'backend' | QuantOnly | VariantInput> & {
  protocol: Protocol;
  format: (typeof DATA_FORMATS)[number];
  modelShape: ModelShape | null;
  fewShot: number | null;
  keyBits: number;
  valueBits: number;
  backend: RunBackend | null;
} & { [K in QuantOnly]: Parsed[K] | null } & RunVariant;

export function isFullPrecision(c: Pick<RunConfig, 'keyBits' | 'valueBits'>): boolean {
  return c.keyBits === FULL_PRECISION_BITS && c.valueBits === FULL_PRECISION_BITS;
}

/** "K4V2", "K16V16" */
export function bitsLabel(c: Pick<RunConfig, 'keyBits' | 'valueBits'>): string {
  return `K${c.keyBits}V${c.valueBits}`;
}

/** What runLabel reads: a canonical config, or a stored run's columns spread with its config's variant fields. */
export interface LabelSource {
  keyBits: number;
  valueBits: number;
  backend?: string | null;
  rotation?: string | null;
  turboScheme?: string | null;
  budget?: number | null;
  budgetScore?: string | null;
  budgetSource?: string | null;
  groupBudget?: number | null;
}

/**
 * The one name of a run's cache configuration, for the CLI and the dashboard: "K4V2", "K4V2 WHT",
 * "TQ-KQV 3b" (TQ-KQV K4V2 when the kinds differ), "budget 4 (spectral)" (", cache" when the
 * sensitivities come from the cache, ", G64" with a group budget; " WHT" with a rotation).
 * Full precision is "K16V16", or `fullPrecision` when given (the dashboard says "fp16").
 */
export function runLabel(c: LabelSource, options: { fullPrecision?: string } = {}): string {
  if (isFullPrecision(c)) return options.fullPrecision ?? bitsLabel(c);
  const wht = c.rotation === 'hadamard' ? ' WHT' : '';
  if (c.budget !== undefined && c.budget !== null) {
    const notes = [c.budgetScore ?? 'spectral', ...(c.budgetSource === 'cache' ? ['cache'] : []), ...(c.groupBudget ? [`G${c.groupBudget}`] : [])];
    return `budget ${c.budget} (${notes.join(', ')})${wht}`;
  }
  if (c.backend === 'turbo') {
    const bits = c.keyBits === c.valueBits ? `${c.keyBits}b` : bitsLabel(c);
    return `TQ-${c.turboScheme ?? DEFAULT_TURBO_SCHEME} ${bits}`;
  }
  return `${bitsLabel(c)}${wht}`;
}

/** The variant fields of a stored config (anything with them), for runLabel; absent ones stay absent. */
export function runVariant(config: unknown): RunVariant {
  const c = (config ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['rotation', 'turboScheme', 'budget', 'bitRange', 'budgetScore', 'budgetSource', 'groupBudget'] as const) if (c[k] !== undefined) out[k] = c[k];
  return out as RunVariant;
}

/** Budget mode: keyBits and valueBits are the budget rounded to the nearest integer (halves up), within 1..8. */
export function budgetBits(budget: number): number {
  return Math.min(8, Math.max(1, Math.round(budget)));
}

export type ParseResult = { ok: true; config: RunConfig } | { ok: false; issues: FieldError[] };

/** An analyze run without bits is the weights-and-cache analysis alone (K16V16: no quantizer). */
function withAnalyzeDefaults(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || (input as { protocol?: unknown }).protocol !== 'analyze') return input;
  if (hasBudget(input)) return input;
  return { keyBits: FULL_PRECISION_BITS, valueBits: FULL_PRECISION_BITS, ...(input as Record<string, unknown>) };
}

const hasBudget = (input: object) => (input as { budget?: unknown }).budget !== undefined && (input as { budget?: unknown }).budget !== null;

const BITS_REQUIRED = 'required: integers 1..8, or 16 for full precision (or give a budget)';

/** Missing keyBits / valueBits without a budget, reported with the schema's own issues (all problems at once). */
function missingBits(input: unknown, f: (name: string) => string): FieldError[] {
  if (input === null || typeof input !== 'object' || hasBudget(input)) return [];
  return (['keyBits', 'valueBits'] as const).filter((k) => (input as Record<string, unknown>)[k] === undefined).map((k) => ({ field: f(k), message: BITS_REQUIRED }));
}

export function safeParseRunConfig(input: unknown, fieldPrefix = ''): ParseResult {
  const f = (name: string) => (fieldPrefix ? `${fieldPrefix}.${name}` : name);
  const withDefaults = withAnalyzeDefaults(input);
  const parsed = runConfigInputSchema.safeParse(withDefaults);
  if (!parsed.success) {
    const schemaIssues = fieldErrors(parsed.error, fieldPrefix);
    const seen = new Set(schemaIssues.map((i) => i.field));
    return { ok: false, issues: [...schemaIssues, ...missingBits(withDefaults, f).filter((i) => !seen.has(i.field))] };
  }
  const p = parsed.data;
  const issues: FieldError[] = [];

  const known = findModel(p.model);
  if (!known && !p.modelShape && !isLocalModelPath(p.model)) {
    issues.push({
      field: f('model'),
      message: `unknown model ${JSON.stringify(p.model)}; known: ${KNOWN_MODELS.map((m) => m.name).join(', ')}; for another model give a local path or modelShape`,
    });
  }
  const benchmark = findBenchmark(p.benchmark)!;
  const protocol = p.protocol ?? benchmark.protocol;
  if (!benchmark.protocols.includes(protocol)) {
    issues.push({ field: f('protocol'), message: `${protocol} cannot run ${benchmark.name}; allowed: ${benchmark.protocols.join(', ')}` });
  }
  const analyze = protocol === 'analyze';

  // Budget mode: the allocator chooses per-layer bits; keyBits = valueBits = round(budget) stand for it.
  const budget = p.budget;
  let bitRange: number[] | undefined;
  if (budget !== null) {
    bitRange = [...new Set(p.bitRange ?? DEFAULT_BIT_RANGE)].sort((a, b) => a - b);
    const [lo, hi] = [bitRange[0], bitRange[bitRange.length - 1]];
    if (budget < lo || budget > hi) issues.push({ field: f('budget'), message: `${budget} is outside the bit range [${lo}, ${hi}]` });
    if (analyze) issues.push({ field: f('budget'), message: 'an analyze run takes no budget (it measures one uniform quantizer)' });
    if (p.backend === 'turbo') issues.push({ field: f('backend'), message: 'budget mode needs a grouped quantizer: quanto or hqq' });
    for (const axis of ['keyAxis', 'valueAxis'] as const) {
      if (p[axis] !== 'per-token' && p[axis] !== 'per-channel') issues.push({ field: f(axis), message: `budget mode needs per-token or per-channel; got ${p[axis]}` });
    }
    const fill = budgetBits(budget);
    for (const bits of ['keyBits', 'valueBits'] as const) {
      if (p[bits] !== undefined && p[bits] !== fill) {
        issues.push({ field: f(bits), message: `set by the budget: in budget mode keyBits = valueBits = round(budget) = ${fill}; omit it` });
      }
    }
  } else {
    for (const bits of ['keyBits', 'valueBits'] as const) {
      if (p[bits] === undefined) issues.push({ field: f(bits), message: BITS_REQUIRED });
    }
  }
  const keyBits = budget !== null ? budgetBits(budget) : (p.keyBits ?? 0);
  const valueBits = budget !== null ? budgetBits(budget) : (p.valueBits ?? 0);
  const full = keyBits === FULL_PRECISION_BITS && valueBits === FULL_PRECISION_BITS;
  if (p.keyBits !== undefined && p.valueBits !== undefined && (p.keyBits === FULL_PRECISION_BITS) !== (p.valueBits === FULL_PRECISION_BITS)) {
    const field = p.keyBits === FULL_PRECISION_BITS ? 'keyBits' : 'valueBits';
    issues.push({ field: f(field), message: 'full precision (16) must be chosen for both keys and values; mixing 16 with 1..8 is not supported' });
  }
  const turbo = !full && p.backend === 'turbo';
  if (turbo && analyze) issues.push({ field: f('backend'), message: 'an analyze run measures a grouped quantizer: quanto or hqq' });
  if (p.computeDtype === 'float16' && analyze) issues.push({ field: f('computeDtype'), message: 'an analyze run computes in float64 (the reference); no float16' });
  if (p.rotation === 'hadamard') {
    if (full) issues.push({ field: f('rotation'), message: 'a rotation needs a quantized cache; full precision (K16V16) has none' });
    else if (p.backend === 'turbo') issues.push({ field: f('rotation'), message: 'turbo rotates by itself; rotation applies to quanto and hqq' });
    else if (analyze) issues.push({ field: f('rotation'), message: 'an analyze run measures the plain grouped quantizer; no rotation' });
  }
  if (protocol === 'ppl-decode' && p.maxTokens < p.prompt + 2) {
    issues.push({ field: f('maxTokens'), message: `ppl-decode needs maxTokens >= prompt + 2 (prompt = ${p.prompt})` });
  }
  if (issues.length) return { ok: false, issues };

  const q = <T>(v: T): T | null => (full ? null : v);
  // Grouped-quantizer layout fields mean nothing to TurboQuant (it codes whole head vectors).
  const g = <T>(v: T): T | null => (full || turbo ? null : v);
  // An analyze run quantizes its whole sample at once: the cache-policy fields cannot change its result.
  const cq = <T>(v: T): T | null => (full || analyze ? null : v);
  // Budget mode with a group budget: the allocator picks per-layer group sizes.
  const groupSize = (v: number) => (budget !== null && p.groupBudget ? null : g(v));
  const config: RunConfig = {
    model: known ? known.name : p.model,
    modelShape: known ? null : (p.modelShape ?? null),
    benchmark: benchmark.name,
    protocol,
    format: benchmark.format,
    keyBits,
    valueBits,
    backend: q(p.backend),
    keyGroupSize: groupSize(p.keyGroupSize),
    valueGroupSize: groupSize(p.valueGroupSize),
    keyAxis: g(p.keyAxis),
    valueAxis: g(p.valueAxis),
    residualLength: cq(p.residualLength),
    prefill: cq(p.prefill),
    residualMode: cq(p.residualMode),
    metaDtype: g(p.metaDtype),
    hqqMode: !full && p.backend === 'hqq' ? p.hqqMode : null,
    cacheMode: cq(p.cacheMode),
    limit: p.limit,
    provider: p.provider,
    prompt: p.prompt,
    maxTokens: p.maxTokens,
    fewShot: protocol === 'gen-exact' ? (p.fewShot ?? 0) : null,
    seed: p.seed,
    batch: p.batch,
  };
  // The variants are added only when set, so a config without them hashes as it always did.
  if (!full && p.rotation === 'hadamard') config.rotation = 'hadamard';
  if (p.computeDtype === 'float16') config.computeDtype = 'float16';
  if (turbo) config.turboScheme = p.turboScheme ?? DEFAULT_TURBO_SCHEME;
  if (budget !== null) {
    config.budget = budget;
    config.bitRange = bitRange;
    config.budgetScore = p.budgetScore ?? 'spectral';
    config.budgetSource = p.budgetSource ?? 'weights';
    config.groupBudget = p.groupBudget ?? null;
  }
  return { ok: true, config };
}

/** Validates, fills defaults and canonicalizes; throws ValidationError naming each bad field. */
export function parseRunConfig(input: unknown): RunConfig {
  const r = safeParseRunConfig(input);
  if (!r.ok) throw new ValidationError(r.issues);
  return r.config;
}

/** The content hash of a canonical config: sha256 hex of its sorted-key JSON (also the BullMQ job id). */
export function configHash(config: RunConfig): string {
  return sha256Hex(canonicalJson({ configVersion: CONFIG_VERSION, ...config }));
}

/** Parses anything a person may send and returns the canonical config and its hash. */
export function canonicalRun(input: unknown): { config: RunConfig; hash: string } {
  const config = parseRunConfig(input);
  return { config, hash: configHash(config) };
}

export { AXES, BACKENDS, HQQ_MODES, META_DTYPES } from '@kvbench/quant';
export type { GroupAxis, QuantBackend, KvQuantConfig } from '@kvbench/quant';
