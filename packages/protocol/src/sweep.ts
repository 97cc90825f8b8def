// A sweep: the grid models x benchmarks x (keyBits, valueBits) x backends x group sizes x axes x residual
// lengths over shared base settings (or a named template's cells in place of the bit pairs). Expansion yields canonical cells, deduplicated by hash and ordered
// model, benchmark, key axis, value axis, backend, bits, group sizes, residual length (innermost last): the cells of
// one model reach a worker together (the model stays loaded), and so do those of one axis pair (one worker lane).
import { z } from 'zod';
import { AXES } from '@kvbench/quant';
import { BENCHMARK_NAMES } from './benchmarks';
import { ValidationError, fieldErrors, type FieldError } from './errors';
import { modelShapeSchema } from './models';
import { FULL_PRECISION_BITS, RUN_BACKENDS, bitsSchema, configHash, safeParseRunConfig, type RunBackend, type RunConfig, type RunConfigInput } from './run-config';

const pairSchema = z.union([
  z.tuple([bitsSchema, bitsSchema]),
  z
    .string()
    .trim()
    .regex(/^K(\d+)V(\d+)$/i, { error: 'expected [keyBits, valueBits] or a label like "K4V2"' })
    .transform((s, ctx) => {
      const [, k, v] = /^K(\d+)V(\d+)$/i.exec(s)!;
      const pair = [Number(k), Number(v)] as [number, number];
      for (const b of pair) {
        if (!((b >= 1 && b <= 8) || b === FULL_PRECISION_BITS)) {
          ctx.addIssue({ code: 'custom', message: `${s}: bits ${b} out of range, allowed: 1..8 or 16` });
          return z.NEVER;
        }
      }
      return pair;
    }),
]);

const list = <T extends z.ZodType>(item: T, max = 64) => z.array(item).min(1).max(max);

/** One point of a template: the run fields it sets (bits, and for some templates backend, budget, scheme). */
export type TemplateCell = Pick<RunConfigInput, 'keyBits' | 'valueBits' | 'backend' | 'turboScheme' | 'budget' | 'budgetScore'>;

/** The key-first grid (issue 6): K in {2,3,4,8} x V in {2,3,4,8}, so every (b, b') meets its mirror (b', b). */
export const KEY_FIRST_BITS = [2, 3, 4, 8] as const;
/** The budget template's average bits and scores (docs/findings.md), next to uniform baselines at the same bits. */
export const BUDGET_TEMPLATE_BITS = [3, 4] as const;
export const BUDGET_TEMPLATE_SCORES = ['frobenius', 'spectral'] as const;
/** The turbo template's bits per coordinate; each scheme, and the grouped quanto cache at the same bits. */
export const TURBO_TEMPLATE_BITS = [2, 3, 4] as const;
const TURBO_TEMPLATE_SCHEMES = ['KV', 'KQV', 'QKQV'] as const;
export const SWEEP_TEMPLATES = {
  'key-first': KEY_FIRST_BITS.flatMap((k) => KEY_FIRST_BITS.map((v): TemplateCell => ({ keyBits: k, valueBits: v }))),
  /** budget 3 and 4 x frobenius/spectral scores, plus uniform K3V3 and K4V4 (the backend stays the sweep's: quanto or hqq) */
  budget: [
    ...BUDGET_TEMPLATE_BITS.flatMap((budget) => BUDGET_TEMPLATE_SCORES.map((budgetScore): TemplateCell => ({ budget, budgetScore }))),
    ...BUDGET_TEMPLATE_BITS.map((b): TemplateCell => ({ keyBits: b, valueBits: b })),
  ],
  /** TurboQuant KV / KQV / QKQV x 2, 3, 4 bits, plus grouped quanto K2V2 / K3V3 / K4V4 */
  turbo: [
    ...TURBO_TEMPLATE_SCHEMES.flatMap((turboScheme) => TURBO_TEMPLATE_BITS.map((b): TemplateCell => ({ backend: 'turbo', turboScheme, keyBits: b, valueBits: b }))),
    ...TURBO_TEMPLATE_BITS.map((b): TemplateCell => ({ backend: 'quanto', keyBits: b, valueBits: b })),
  ],
} as const satisfies Record<string, readonly TemplateCell[]>;
export type SweepTemplate = keyof typeof SWEEP_TEMPLATES;
/** Templates whose cells are (keyBits, valueBits) pairs only: they fill `pairs` and combine with every other grid list. */
const PAIR_TEMPLATES: readonly SweepTemplate[] = ['key-first'];
/** Run fields a template may set, so `base` may not (the template's cells would silently override it). */
const TEMPLATE_FIELDS = ['backend', 'turboScheme', 'budget', 'budgetScore'] as const;
const size = z.int().min(1).max(65536);

/** Fields a sweep sets per cell; they may not appear in `base`. */
const GRID_FIELDS: Record<string, string> = {
  model: 'models',
  modelShape: 'modelShapes',
  benchmark: 'benchmarks',
  keyBits: 'pairs',
  valueBits: 'pairs',
  backend: 'backends',
  keyGroupSize: 'keyGroupSizes',
  valueGroupSize: 'valueGroupSizes',
  keyAxis: 'keyAxes',
  valueAxis: 'valueAxes',
  residualLength: 'residualLengths',
};

export const sweepSpecSchema = z.strictObject({
  name: z.string().trim().max(200).optional(),
  /** a named grid of (keyBits, valueBits) pairs instead of pairs / keyBits x valueBits */
  template: z.enum(Object.keys(SWEEP_TEMPLATES) as [SweepTemplate, ...SweepTemplate[]]).optional(),
  models: list(z.string().trim().min(1).max(512), 200),
  /** shapes for models outside the known table, by model name */
  modelShapes: z.record(z.string(), modelShapeSchema).optional(),
  benchmarks: list(z.enum(BENCHMARK_NAMES), 20),
  /** explicit (keyBits, valueBits) pairs ... */
  pairs: list(pairSchema, 100).optional(),
  /** ... or the full grid keyBits x valueBits (mixed 16/quantized cells are skipped) */
  keyBits: list(bitsSchema, 16).optional(),
  valueBits: list(bitsSchema, 16).optional(),
  /** default ['quanto']; the turbo template sets each cell's backend itself */
  backends: list(z.enum(RUN_BACKENDS), 4).optional(),
  /** one list for both K and V group sizes, or the two separately (a grid) */
  groupSizes: list(size, 16).optional(),
  keyGroupSizes: list(size, 16).optional(),
  valueGroupSizes: list(size, 16).optional(),
  keyAxes: list(z.enum(AXES), 4).optional(),
  valueAxes: list(z.enum(AXES), 4).optional(),
  residualLengths: list(z.int().min(0).max(1 << 20), 16).optional(),
  /** every other run field shared by all cells (limit, provider, prompt, maxTokens, ...) */
  base: z.record(z.string(), z.unknown()).default({}),
  /** refuse to expand into more cells than this (W&B's run_cap) */
  maxCells: z.int().min(1).max(100_000).default(10_000),
});
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;
export type SweepSpec = z.output<typeof sweepSpecSchema>;

export interface SweepCell {
  config: RunConfig;
  hash: string;
}

export interface SweepExpansion {
  spec: SweepSpec;
  cells: SweepCell[];
  /** grid points that mapped onto a cell already present (e.g. K16V16 at several group sizes) */
  duplicates: number;
  /** grid points that are not valid runs, with the reason */
  skipped: { keyBits: number; valueBits: number; reason: string }[];
}

export function parseSweepSpec(input: unknown): SweepSpec {
  const parsed = sweepSpecSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error));
  const s = parsed.data;
  const issues: FieldError[] = [];
  if (s.template) {
    if (s.pairs || s.keyBits || s.valueBits) issues.push({ field: 'template', message: `template ${s.template} sets the pairs; give no pairs, keyBits or valueBits with it` });
    else if (PAIR_TEMPLATES.includes(s.template)) s.pairs = SWEEP_TEMPLATES[s.template].map((c) => [c.keyBits!, c.valueBits!] as [number, number]);
    if (s.template === 'turbo' && s.backends) issues.push({ field: 'backends', message: 'the turbo template sets each cell\'s backend (turbo, and quanto for the baselines); give no backends' });
    if (!PAIR_TEMPLATES.includes(s.template)) {
      for (const key of TEMPLATE_FIELDS) if (key in s.base) issues.push({ field: `base.${key}`, message: `set by template ${s.template}` });
    }
  }
  // A budget in base fills the bits of every cell (round(budget)): no pairs are needed then.
  const budgetOnly = typeof s.base.budget === 'number' && !s.template;
  if (!s.template && !s.pairs && !(s.keyBits && s.valueBits) && !budgetOnly) {
    issues.push({ field: 'pairs', message: 'give pairs ([[4,2],[2,4]] or ["K4V2"]), both keyBits and valueBits lists, a template (key-first, budget, turbo) or a budget in base' });
  }
  if (s.pairs && (s.keyBits || s.valueBits)) {
    issues.push({ field: 'pairs', message: 'give either pairs or keyBits/valueBits, not both' });
  }
  if (s.groupSizes && (s.keyGroupSizes || s.valueGroupSizes)) {
    issues.push({ field: 'groupSizes', message: 'give either groupSizes or keyGroupSizes/valueGroupSizes, not both' });
  }
  for (const key of Object.keys(s.base)) {
    if (key in GRID_FIELDS) issues.push({ field: `base.${key}`, message: `set by the grid; use ${GRID_FIELDS[key]}` });
  }
  if (issues.length) throw new ValidationError(issues);
  return s;
}

/** The grid's bit points: the pairs, keyBits x valueBits, a template's cells, or one budget-filled point. */
function bitPoints(s: SweepSpec): { points: TemplateCell[]; skipped: SweepExpansion['skipped'] } {
  if (s.pairs) return { points: (s.pairs as [number, number][]).map(([keyBits, valueBits]) => ({ keyBits, valueBits })), skipped: [] };
  if (s.template) return { points: SWEEP_TEMPLATES[s.template].map((c) => ({ ...c })), skipped: [] };
  if (!s.keyBits || !s.valueBits) return { points: [{}], skipped: [] };
  const points: TemplateCell[] = [];
  const skipped: SweepExpansion['skipped'] = [];
  for (const k of s.keyBits) {
    for (const v of s.valueBits!) {
      if ((k === FULL_PRECISION_BITS) !== (v === FULL_PRECISION_BITS)) {
        skipped.push({ keyBits: k, valueBits: v, reason: 'mixes full precision with quantized bits' });
      } else points.push({ keyBits: k, valueBits: v });
    }
  }
  return { points, skipped };
}

const DEFAULT_BACKENDS: RunBackend[] = ['quanto'];

/** Number of grid points before validation and deduplication (cheap; used for the maxCells check). */
export function gridSize(s: SweepSpec): number {
  const templateCells = s.template && !s.pairs ? SWEEP_TEMPLATES[s.template] : null;
  const points = s.pairs?.length ?? templateCells?.length ?? (s.keyBits && s.valueBits ? s.keyBits.length * s.valueBits.length : 1);
  const backends = templateCells?.some((c) => 'backend' in c) ? 1 : (s.backends ?? DEFAULT_BACKENDS).length;
  const kg = s.keyGroupSizes?.length ?? s.groupSizes?.length ?? 1;
  const vg = s.valueGroupSizes?.length ?? (s.groupSizes ? 1 : 1);
  return s.models.length * s.benchmarks.length * points * backends * kg * vg *
    (s.keyAxes?.length ?? 1) * (s.valueAxes?.length ?? 1) * (s.residualLengths?.length ?? 1);
}

/** Validates a sweep spec and expands it into canonical, hashed, deduplicated cells (model-major order). */
export function expandSweep(input: unknown): SweepExpansion {
  const s = parseSweepSpec(input);
  const grid = gridSize(s);
  if (grid > s.maxCells) {
    throw new ValidationError([{ field: 'maxCells', message: `the grid has ${grid} cells, more than maxCells = ${s.maxCells}` }]);
  }
  const { points, skipped } = bitPoints(s);
  // groupSizes ties K and V together; key/valueGroupSizes form a grid.
  const groupPairs: [number | undefined, number | undefined][] = s.groupSizes
    ? s.groupSizes.map((g) => [g, g])
    : (s.keyGroupSizes ?? [undefined]).flatMap((k) => (s.valueGroupSizes ?? [undefined]).map((v) => [k, v] as [number | undefined, number | undefined]));
  // Backend-major over the bit points; a template cell with its own backend (turbo) is not crossed with backends.
  const combos = (s.backends ?? DEFAULT_BACKENDS).flatMap((backend, i) =>
    points.flatMap((point) => (point.backend === undefined ? [{ point, backend }] : i === 0 ? [{ point, backend: point.backend }] : [])),
  );
  const seen = new Set<string>();
  const cells: SweepCell[] = [];
  const issues = new Map<string, FieldError>();
  let duplicates = 0;
  // Axes just inside model and benchmark: on a WebGPU worker the axes decide whether a run's cache can keep
  // rows reserved, i.e. which evaluation host (lane) takes it, and a lane switch reloads the model.
  for (const model of s.models) {
    for (const benchmark of s.benchmarks) {
      for (const keyAxis of s.keyAxes ?? [undefined]) {
        for (const valueAxis of s.valueAxes ?? [undefined]) {
          for (const { point, backend } of combos) {
            for (const [keyGroupSize, valueGroupSize] of groupPairs) {
              for (const residualLength of s.residualLengths ?? [undefined]) {
                const input = {
                  ...s.base, model, modelShape: s.modelShapes?.[model], benchmark, ...point, backend,
                  keyGroupSize, valueGroupSize, keyAxis, valueAxis, residualLength,
                };
                const r = safeParseRunConfig(input);
                if (!r.ok) {
                  for (const issue of r.issues) {
                    const field = GRID_FIELDS[issue.field] ?? (issue.field in s.base || issue.field.split('.')[0] in s.base ? `base.${issue.field}` : issue.field);
                    const message = field === 'models' ? `${JSON.stringify(model)}: ${issue.message}` : issue.message;
                    issues.set(`${field}\0${message}`, { field, message });
                  }
                  continue;
                }
                const hash = configHash(r.config);
                if (seen.has(hash)) {
                  duplicates++;
                  continue;
                }
                seen.add(hash);
                cells.push({ config: r.config, hash });
              }
            }
          }
        }
      }
    }
  }
  if (issues.size) throw new ValidationError([...issues.values()]);
  return { spec: s, cells, duplicates, skipped };
}
