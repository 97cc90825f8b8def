// Loaded models (config, weights, tokenizer) kept between jobs, least recently used evicted beyond
// maxModels (default 1: a GPU holds one big model). A spec is recognised without re-reading its
// weights: the key is the resolved path plus the size and mtime of its files, so a rewritten checkpoint
// loads again; the weights' sha256 (computed once, at load) identifies the model to the graph cache.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCacheSample, type RunCacheSample } from '../analysis/run-attention-stats';
import type { CachePolicy, EvalOptions } from '../evaluation';
import type { LoadedModel } from '../model/config';
import { loadModel, resolveModelSpec } from '../model/load';
import { onnxSessionOptions, type EvaluationResources } from '../protocols/run-evaluation';
import { clearGraphCache, createOnnxSession } from '../runtime';
import { loadTokenizer } from '../tokenizer';
import type { TextTokenizer } from '../tokenizer';
import type { ThreadCounters } from './host-protocol';
import { SessionPool, sessionKey } from './session-pool';

/** Encoded graphs (each a full copy of the weights) are dropped after a job when up to 8 of them could exceed this. */
const GRAPH_MEMORY_BUDGET = 2 * 1024 ** 3;
const GRAPH_CACHE_ENTRIES = 8;

interface CachedModel {
  key: string;
  spec: string;
  fileBytes: number;
  model: Promise<LoadedModel>;
  tokenizer?: Promise<TextTokenizer>;
  /** The last cache sample: a sweep's cells of one model and data set sample the same documents. */
  sample?: { documents: string; sample: RunCacheSample | null };
}

/** The resolved files of a spec and a fingerprint of their size and mtime. */
function fingerprint(spec: string): { key: string; fileBytes: number } {
  const source = resolveModelSpec(spec);
  const files = source.format === 'huggingface'
    ? readdirSync(source.path).map((name) => join(source.path, name))
    : [source.path, ...(source.tokenizerPath ? [source.tokenizerPath] : [])];
  let fileBytes = 0;
  const parts = files.sort().map((file) => {
    const s = statSync(file);
    if (!s.isFile()) return '';
    fileBytes += s.size;
    return `${file}:${s.size}:${s.mtimeMs}`;
  });
  return { key: `${source.format}|${source.path}|${parts.join('|')}`, fileBytes };
}

export class ModelCache {
  /** Least recently used first (Map keeps insertion order; a hit re-inserts). */
  private readonly entries = new Map<string, CachedModel>();
  private readonly keys = new WeakMap<LoadedModel, string>();
  private current: CachedModel | undefined;

  constructor(
    private readonly maxModels: number,
    readonly sessions: SessionPool,
    private readonly counters: ThreadCounters,
  ) {}

  /** What runEvaluation loads through: this cache and the session pool. */
  resources(): EvaluationResources {
    return {
      loadModel: (spec) => this.model(spec),
      loadTokenizer: (spec) => this.tokenizer(spec),
      openOnnxSession: (model, policy, options) => this.session(model, policy, options),
      cacheSample: (model, documents) => this.cacheSample(model, documents),
    };
  }

  /** Model specs held now, least recently used first. */
  loadedModels(): string[] {
    return [...this.entries.values()].map((e) => e.spec);
  }

  private async entry(spec: string): Promise<CachedModel> {
    const { key, fileBytes } = fingerprint(spec);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.counters.modelHits++;
      return (this.current = hit);
    }
    // Evict before loading, so two big models never sit in memory together.
    while (this.entries.size >= this.maxModels && this.entries.size > 0) await this.evict(this.entries.values().next().value as CachedModel);
    const model = loadModel(spec).then((m) => {
      this.keys.set(m, key);
      return m;
    });
    const entry: CachedModel = { key, spec, fileBytes, model };
    this.entries.set(key, entry);
    this.counters.modelLoads++;
    try {
      await model;
    } catch (error) {
      this.entries.delete(key);
      throw error;
    }
    return (this.current = entry);
  }

  private async model(spec: string): Promise<LoadedModel> {
    return (await this.entry(spec)).model;
  }

  private async tokenizer(spec: string): Promise<TextTokenizer> {
    // runEvaluation asks for the model and then its tokenizer: one lookup per job.
    const entry = this.current?.spec === spec ? this.current : await this.entry(spec);
    if (!entry.tokenizer) {
      entry.tokenizer = loadTokenizer(spec);
      entry.tokenizer.catch(() => (entry.tokenizer = undefined));
    }
    return entry.tokenizer;
  }

  private cacheSample(model: LoadedModel, documents: number[][]): RunCacheSample | null {
    const key = this.keys.get(model);
    const entry = key === undefined ? undefined : this.entries.get(key);
    const sampled = JSON.stringify(documents);
    if (entry?.sample?.documents === sampled) {
      this.counters.sampleHits++;
      return entry.sample.sample;
    }
    const sample = runCacheSample(model.config, model.weights, documents);
    if (entry) entry.sample = { documents: sampled, sample };
    return sample;
  }

  private session(model: LoadedModel, policy: CachePolicy, options: EvalOptions) {
    const modelKey = this.keys.get(model) ?? model.provenance.weightsSha256;
    const key = sessionKey({ policy, provider: options.provider, sessionOptions: options.sessionOptions ?? null, weightBits: options.weightBits ?? 16, kvRows: options.kvRows ?? 'exact', dtype: options.dtype ?? 'float32' });
    return this.sessions.lease(modelKey, key, () => createOnnxSession(model, policy, onnxSessionOptions(options)));
  }

  /** After every job: bound the pool, and drop encoded graphs of models too big to keep several copies of. */
  async afterJob(): Promise<void> {
    await this.sessions.trim();
    if (this.current && this.current.fileBytes * GRAPH_CACHE_ENTRIES > GRAPH_MEMORY_BUDGET) clearGraphCache();
    this.current = undefined;
  }

  private async evict(entry: CachedModel, counted = true): Promise<void> {
    this.entries.delete(entry.key);
    if (counted) this.counters.modelEvictions++;
    await this.sessions.clear(entry.key);
    // The graph cache is per process and keyed by weights; it has no per-model removal, and a model's
    // graphs are useless once its weights are gone.
    clearGraphCache();
  }

  async close(): Promise<void> {
    for (const entry of [...this.entries.values()]) await this.evict(entry, false);
    await this.sessions.clear();
  }
}
