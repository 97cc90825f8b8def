// A run: one model x benchmark x quantization config. Input is validated with zod, defaults are filled,
// and the canonical form (irrelevant fields nulled) is hashed: same config, same hash, whatever the key order.
import { z } from 'zod';
import { AXES, BACKENDS, HQQ_MODES, META_DTYPES } from '@kvbench/quant';
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

/** Bump when the meaning of a canonical config changes, so old hashes are not reused. */
export const CONFIG_VERSION = 1;

export const bitsSchema = z
  .int({ error: 'must be an integer: 1..8, or 16 for full precision' })
  .refine((b) => (b >= 1 && b <= 8) || b === FULL_PRECISION_BITS, {
    error: (issue) => `got ${String(issue.input)}, allowed: integers 1..8, or 16 for full precision`,
  });

const positive = (max: number) => z.int().min(1).max(max);

/** The fields a person may send. Unknown fields are rejected (a typo must not silently run defaults). */
export const runConfigInputSchema = z.strictObject({
  model: z.string().trim().min(1).max(512),
  /** Required for a model outside the known table unless it is a local path the worker resolves. */
  modelShape: modelShapeSchema.optional(),
  benchmark: z.enum(BENCHMARK_NAMES),
  protocol: z.enum(PROTOCOLS).optional(),
  keyBits: bitsSchema,
  valueBits: bitsSchema,
  backend: z.enum(BACKENDS).default('quanto'),
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
});
export type RunConfigInput = z.input<typeof runConfigInputSchema>;
type Parsed = z.output<typeof runConfigInputSchema>;

type QuantOnly = 'backend' | 'keyGroupSize' | 'valueGroupSize' | 'keyAxis' | 'valueAxis' | 'residualLength' | 'prefill' | 'residualMode' | 'metaDtype' | 'hqqMode' | 'cacheMode';

/**
 * The canonical run config. Fields that cannot change the result are null: every quantizer field when
 * keyBits = valueBits = 16 (full precision), hqqMode unless backend = hqq, fewShot unless gen-exact,
 * modelShape for known models.
 */
export type RunConfig = Omit<Parsed, 'protocol' | 'modelShape' | 'fewShot' | QuantOnly> & {
  protocol: Protocol;
  format: (typeof DATA_FORMATS)[number];
  modelShape: ModelShape | null;
  fewShot: number | null;
} & { [K in QuantOnly]: Parsed[K] | null };

export function isFullPrecision(c: Pick<RunConfig, 'keyBits' | 'valueBits'>): boolean {
  return c.keyBits === FULL_PRECISION_BITS && c.valueBits === FULL_PRECISION_BITS;
}

/** "K4V2", "K16V16" */
export function bitsLabel(c: Pick<RunConfig, 'keyBits' | 'valueBits'>): string {
  return `K${c.keyBits}V${c.valueBits}`;
}

export type ParseResult = { ok: true; config: RunConfig } | { ok: false; issues: FieldError[] };

/** An analyze run without bits is the weights-and-cache analysis alone (K16V16: no quantizer). */
function withAnalyzeDefaults(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || (input as { protocol?: unknown }).protocol !== 'analyze') return input;
  return { keyBits: FULL_PRECISION_BITS, valueBits: FULL_PRECISION_BITS, ...(input as Record<string, unknown>) };
}

export function safeParseRunConfig(input: unknown, fieldPrefix = ''): ParseResult {
  const parsed = runConfigInputSchema.safeParse(withAnalyzeDefaults(input));
  if (!parsed.success) return { ok: false, issues: fieldErrors(parsed.error, fieldPrefix) };
  const p = parsed.data;
  const issues: FieldError[] = [];
  const f = (name: string) => (fieldPrefix ? `${fieldPrefix}.${name}` : name);

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
  if ((p.keyBits === FULL_PRECISION_BITS) !== (p.valueBits === FULL_PRECISION_BITS)) {
    const field = p.keyBits === FULL_PRECISION_BITS ? 'keyBits' : 'valueBits';
    issues.push({ field: f(field), message: 'full precision (16) must be chosen for both keys and values; mixing 16 with 1..8 is not supported' });
  }
  if (protocol === 'ppl-decode' && p.maxTokens < p.prompt + 2) {
    issues.push({ field: f('maxTokens'), message: `ppl-decode needs maxTokens >= prompt + 2 (prompt = ${p.prompt})` });
  }
  if (issues.length) return { ok: false, issues };

  const full = p.keyBits === FULL_PRECISION_BITS;
  const q = <T>(v: T): T | null => (full ? null : v);
  // An analyze run quantizes its whole sample at once: the cache-policy fields cannot change its result.
  const analyze = protocol === 'analyze';
  const cq = <T>(v: T): T | null => (full || analyze ? null : v);
  const config: RunConfig = {
    model: known ? known.name : p.model,
    modelShape: known ? null : (p.modelShape ?? null),
    benchmark: benchmark.name,
    protocol,
    format: benchmark.format,
    keyBits: p.keyBits,
    valueBits: p.valueBits,
    backend: q(p.backend),
    keyGroupSize: q(p.keyGroupSize),
    valueGroupSize: q(p.valueGroupSize),
    keyAxis: q(p.keyAxis),
    valueAxis: q(p.valueAxis),
    residualLength: cq(p.residualLength),
    prefill: cq(p.prefill),
    residualMode: cq(p.residualMode),
    metaDtype: q(p.metaDtype),
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
