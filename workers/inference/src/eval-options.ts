// The mapping from a canonical run config (protocol) to the engine's EvalOptions. It lives here, not in
// protocol, because protocol sits below the engine and must not import its types.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CachePolicy, EvalOptions } from '@kvbench/engine';
import { findModel, isLocalModelPath, runKvQuantConfig, type RunConfig } from '@kvbench/protocol';

export class ModelNotAvailableError extends Error {
  readonly field = 'model';
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotAvailableError';
  }
}

/**
 * Where this worker finds a model: the bundled stories260k by name; a known Hugging Face model under
 * $KVBENCH_MODELS_DIR/<name> (or its org/name alias); a local path as given.
 */
export function resolveModel(model: string, env: Record<string, string | undefined> = process.env): string {
  const known = findModel(model);
  if (known?.family === 'llama2c') return known.name;
  if (known) {
    const root = env.KVBENCH_MODELS_DIR;
    const candidates = root ? [known.name, ...known.aliases].map((n) => path.join(root, n)) : [];
    const found = candidates.find((p) => existsSync(path.join(p, 'config.json')));
    if (!found) {
      throw new ModelNotAvailableError(
        `model: ${known.name} weights are not on this worker (looked for config.json under ${root ? candidates.join(', ') : '$KVBENCH_MODELS_DIR, which is not set'})`,
      );
    }
    return found;
  }
  if (isLocalModelPath(model) && !existsSync(model)) throw new ModelNotAvailableError(`model: ${model} does not exist on this worker`);
  return model;
}

/**
 * The issue 6 cache options of a canonical config (CachePolicy.rotation / turbo / budget), each present
 * only when the config sets it, so a plain config maps to exactly the options it always did. Rotation and
 * TurboQuant are seeded by the run's seed.
 */
export function cacheVariantOptions(c: RunConfig): Pick<CachePolicy, 'rotation' | 'turbo' | 'budget'> {
  const out: Pick<CachePolicy, 'rotation' | 'turbo' | 'budget'> = {};
  if (c.rotation === 'hadamard') out.rotation = { kind: 'hadamard', seed: c.seed };
  if (c.backend === 'turbo') out.turbo = { scheme: c.turboScheme ?? 'KQV', seed: c.seed };
  if (c.budget !== undefined) {
    out.budget = {
      bits: c.budget,
      bitRange: [...(c.bitRange ?? [])],
      score: c.budgetScore ?? 'spectral',
      source: c.budgetSource ?? 'weights',
      groupBudget: c.groupBudget ?? null,
    };
  }
  return out;
}

// The engine's KV_ROWS, spelled out: the worker loads the engine lazily (only its types are imported here).
const CACHE_ROWS_SETTINGS = ['exact', 'reserve', 'auto'] as const;
export type CacheRowsSetting = (typeof CACHE_ROWS_SETTINGS)[number];

/**
 * This worker's cache rows for WebGPU runs ($KVBENCH_KV_ROWS; routeForRows in evaluation-hosts.ts):
 * auto (default) = the runs that can reserve rows ahead run in a process of their own with them; reserve
 * = every WebGPU run does (failing those that cannot); exact = none does.
 */
export function cacheRowsSetting(env: Record<string, string | undefined>): CacheRowsSetting {
  const rows = env.KVBENCH_KV_ROWS ?? 'auto';
  if (!(CACHE_ROWS_SETTINGS as readonly string[]).includes(rows)) throw new Error(`KVBENCH_KV_ROWS: got ${JSON.stringify(rows)}, allowed: ${CACHE_ROWS_SETTINGS.join(', ')}`);
  return rows as CacheRowsSetting;
}

/**
 * What a WebGPU run gets in the reserved-rows process: rows kept ahead of the tokens, and ONNX Runtime's
 * size-exact buffer cache ('simple'), with which a decode step then creates no buffer (measured:
 * bench/results/gpu-prompt-sizes.md). The first session of a process fixes its cache mode for all.
 */
export function reservedRowsOptions(): Pick<EvalOptions, 'kvRows' | 'sessionOptions'> {
  return { kvRows: 'reserve', sessionOptions: { executionProviders: [{ name: 'webgpu', storageBufferCacheMode: 'simple' }] } };
}

export function toEvalOptions(c: RunConfig, env: Record<string, string | undefined> = process.env): EvalOptions {
  if (c.protocol === 'analyze') throw new Error('protocol: analyze runs go through analyzeRun (./analyze), not evaluate()');
  return {
    model: resolveModel(c.model, env),
    data: c.benchmark,
    format: c.format,
    protocol: c.protocol,
    prompt: c.prompt,
    maxTokens: c.maxTokens,
    limit: c.limit,
    ...(c.fewShot !== null ? { fewShot: c.fewShot } : {}),
    cache: {
      quant: runKvQuantConfig(c),
      residualLength: c.residualLength ?? 0,
      prefill: c.prefill ?? 'quantize-all',
      residualMode: c.residualMode ?? 'append',
      mode: c.cacheMode ?? 'packed',
      ...cacheVariantOptions(c),
    },
    provider: c.provider,
    seed: c.seed,
    ...(c.computeDtype ? { dtype: c.computeDtype } : {}),
  };
}
