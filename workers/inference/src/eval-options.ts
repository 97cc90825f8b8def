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
const KV_ROWS_SETTINGS = ['exact', 'reserve', 'auto'] as const;

/**
 * This worker's cache rows for WebGPU runs ($KVBENCH_KV_ROWS: exact by default; auto = rows reserved ahead
 * wherever the session allows, reserve = everywhere, failing runs that cannot). Reserved rows pay off with
 * the provider's size-exact buffer cache ('simple'), which is process-wide and never frees a size: with
 * 'auto', sessions that keep exact rows there add sizes at every step, so set it on workers whose runs
 * reserve (fused attention: head_dim a multiple of 16; packed per-token policies). docs/deploy.md.
 */
export function cacheRowsOptions(provider: EvalOptions['provider'], env: Record<string, string | undefined>): Pick<EvalOptions, 'kvRows' | 'sessionOptions'> {
  const rows = env.KVBENCH_KV_ROWS ?? 'exact';
  if (!(KV_ROWS_SETTINGS as readonly string[]).includes(rows)) throw new Error(`KVBENCH_KV_ROWS: got ${JSON.stringify(rows)}, allowed: ${KV_ROWS_SETTINGS.join(', ')}`);
  // Measured on WebGPU only; the CPU's plain attention cannot reserve, and CUDA was not measured.
  if (rows === 'exact' || provider !== 'webgpu') return {};
  return { kvRows: rows as EvalOptions['kvRows'], sessionOptions: { executionProviders: [{ name: 'webgpu', storageBufferCacheMode: 'simple' }] } };
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
    ...cacheRowsOptions(c.provider, env),
  };
}
