// One evaluation, start to finish, in the current thread: resolve model, tokenizer and data, open the
// quantized and the full-precision sessions, run the protocol, assemble the EvalResult record.
// evaluate() runs this inside a worker thread; tests and scripts may call it directly.
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fp16KvBytesPerToken, kvQuantConfig } from '@kvbench/quant';
import { ATTENTION_SAMPLE, runAttentionStats, runCacheSample, type RunCacheSample } from '../analysis/run-attention-stats';
import { resolveCacheBudget } from '../budget/resolve-budget';
import { layerCodecs } from '../codec';
import { loadDataset } from '../data/dataset';
import { sampleTexts, sampleTokenDocuments } from '../data/sample-texts';
import type { CachePolicy, EvalOptions, EvalProgress, EvalResult } from '../evaluation';
import type { LoadedModel } from '../model/config';
import { loadModel } from '../model';
import type { DecoderSession } from '../session';
import { loadTokenizer, type TextTokenizer } from '../tokenizer';
import { createOnnxSession, KV_ROWS, PROVIDERS, validateCachePolicy, type OnnxSessionOptions, type SessionOptions } from '../runtime';
import { ProgressTracker } from './progress';
import { ReferenceDecoderSession } from './reference-session';
import { runProtocol, PROTOCOLS } from './run-protocol';
import { TimedSession } from './timed-session';

/** Which DecoderSession implementation runs: the ONNX graph (default) or the float64 reference. */
export type SessionEngine = 'onnx' | 'reference';

/** Options outside the public contract, for cross-checks and tests. */
export interface InternalEvalOptions {
  engine?: SessionEngine;
  /** false: run in the calling thread (scripts, debugging). evaluate() only. */
  inThread?: boolean;
}


/**
 * Where runEvaluation gets its model, tokenizer and ONNX sessions. The default loads everything afresh;
 * a long-lived EvaluationHost passes its model cache and session pool (a pooled session's dispose()
 * hands it back instead of releasing it).
 */
export interface EvaluationResources {
  loadModel(spec: string): Promise<LoadedModel>;
  loadTokenizer(spec: string): Promise<TextTokenizer>;
  openOnnxSession(model: LoadedModel, policy: CachePolicy, options: EvalOptions): Promise<DecoderSession>;
  /** The float64 reference's cache over sample documents; default runCacheSample (a host keeps the last one per model). */
  cacheSample?(model: LoadedModel, documents: number[][]): RunCacheSample | null;
}

const freshResources: EvaluationResources = {
  loadModel,
  loadTokenizer,
  openOnnxSession: (model, policy, options) =>
    createOnnxSession(model, policy, onnxSessionOptions(options)),
};

/** The session options an evaluation's ONNX sessions are created with. */
export function onnxSessionOptions(options: EvalOptions): OnnxSessionOptions {
  return { provider: options.provider, sessionOptions: options.sessionOptions as SessionOptions | undefined, weightBits: options.weightBits, kvRows: options.kvRows, dtype: options.dtype };
}

export function defaultEngine(): SessionEngine {
  return 'onnx';
}

/** Checks the fields every protocol relies on; errors name the field and the allowed values. */
export function validateEvalOptions(o: EvalOptions): void {
  if (!o || typeof o !== 'object') throw new Error('options: expected an EvalOptions object');
  if (typeof o.model !== 'string' || o.model.length === 0) throw new Error('model: expected a directory, a .bin file or a bundled name (stories260k)');
  if (typeof o.data !== 'string' || o.data.length === 0) throw new Error('data: expected a bundled benchmark name or a file path');
  if (!PROTOCOLS.includes(o.protocol)) throw new Error(`protocol: got ${JSON.stringify(o.protocol)}, allowed: ${PROTOCOLS.join(', ')}`);
  if (!PROVIDERS.includes(o.provider)) throw new Error(`provider: got ${JSON.stringify(o.provider)}, allowed: ${PROVIDERS.join(', ')}`);
  for (const field of ['prompt', 'maxTokens', 'limit'] as const) {
    if (!Number.isInteger(o[field]) || o[field] < 1) throw new Error(`${field}: got ${JSON.stringify(o[field])}, allowed: an integer >= 1`);
  }
  if (o.weightBits !== undefined && o.weightBits !== 16 && o.weightBits !== 4) throw new Error(`weightBits: got ${JSON.stringify(o.weightBits)}, allowed: 16, 4`);
  if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float16') throw new Error(`dtype: got ${JSON.stringify(o.dtype)}, allowed: float32, float16`);
  if (o.kvRows !== undefined && !KV_ROWS.includes(o.kvRows)) throw new Error(`kvRows: got ${JSON.stringify(o.kvRows)}, allowed: ${KV_ROWS.join(', ')}`);
  const c = o.cache;
  if (!c || typeof c !== 'object') throw new Error('cache: expected a CachePolicy');
  if (!Number.isInteger(c.residualLength) || c.residualLength < 0) throw new Error(`cache.residualLength: got ${JSON.stringify(c.residualLength)}, allowed: an integer >= 0`);
  if (c.prefill !== 'quantize-all' && c.prefill !== 'keep-residual') throw new Error(`cache.prefill: got ${JSON.stringify(c.prefill)}, allowed: quantize-all, keep-residual`);
  if (c.residualMode !== 'append' && c.residualMode !== 'requantize') throw new Error(`cache.residualMode: got ${JSON.stringify(c.residualMode)}, allowed: append, requantize`);
  if (c.mode !== 'packed' && c.mode !== 'simulated') throw new Error(`cache.mode: got ${JSON.stringify(c.mode)}, allowed: packed, simulated`);
  if (c.quant !== null) {
    try {
      kvQuantConfig(c.quant);
    } catch (error) {
      throw new Error(`cache.quant.${(error as Error).message}`);
    }
  }
}

async function openSession(engine: SessionEngine, model: LoadedModel, policy: CachePolicy, options: EvalOptions, resources: EvaluationResources): Promise<DecoderSession> {
  if (engine === 'reference') {
    // Never a silent fallback: the reference runs on the CPU only.
    if (options.provider !== 'cpu') throw new Error(`provider: the reference engine runs on cpu only, got ${options.provider}`);
    if ((options.weightBits ?? 16) !== 16) throw new Error(`weightBits: the reference engine runs the weights as loaded (16), got ${options.weightBits}`);
    if ((options.dtype ?? 'float32') !== 'float32') throw new Error(`dtype: the reference engine computes in float64, got ${options.dtype}`);
    return new ReferenceDecoderSession(model, policy);
  }
  return resources.openOnnxSession(model, policy, options);
}

function packageVersion(specifier: string): string {
  try {
    return (createRequire(import.meta.url)(specifier) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function softwareVersions(): Record<string, string> {
  return {
    node: process.version,
    onnxruntime: packageVersion('onnxruntime-node/package.json'),
    kvbench: packageVersion('../../package.json'),
  };
}

/** Thrown between session calls once the evaluation was asked to stop. */
export function abortError(): DOMException {
  return new DOMException('The evaluation was aborted', 'AbortError');
}

/**
 * `shouldStop` is polled before every prefill and decode step of both sessions, so a cancelled run
 * stops within one step with no ONNX Runtime call in flight (terminating a thread in the middle of one
 * crashes the process), and the sessions are disposed on the way out.
 */
export async function runEvaluation(
  options: EvalOptions,
  internal: InternalEvalOptions = {},
  onProgress: (p: EvalProgress) => void = () => {},
  shouldStop: () => boolean = () => false,
  resources: EvaluationResources = freshResources,
): Promise<EvalResult> {
  validateEvalOptions(options);
  const started = performance.now();
  const engine = internal.engine ?? defaultEngine();
  const model = await resources.loadModel(options.model);
  const tokenizer = await resources.loadTokenizer(options.model);
  const dataset = loadDataset(options.data, options.format);
  validateCachePolicy(options.cache);
  // A short sample of the run's data on the float64 reference: budget sensitivities from the cache,
  // and the attention-level metrics.
  let sampled: RunCacheSample | null | undefined;
  const sample = () => {
    if (sampled === undefined) {
      const documents = sampleTokenDocuments(sampleTexts(dataset.data, 16), (t) => tokenizer.encode(t, { bos: true }), ATTENTION_SAMPLE.documents, ATTENTION_SAMPLE.tokens);
      sampled = resources.cacheSample ? resources.cacheSample(model, documents) : runCacheSample(model.config, model.weights, documents);
    }
    return sampled;
  };
  const budget = options.cache.budget ? resolveCacheBudget(options.cache, model.config, model.weights, () => sample()?.layers ?? null) : null;
  const cachePolicy = budget ? budget.policy : options.cache;
  const fullPrecisionPolicy: CachePolicy = { ...options.cache, quant: null, rotation: null, turbo: null, layers: null, budget: null };
  const stopCheck = () => {
    if (shouldStop()) throw abortError();
  };
  stopCheck();
  const quantized = new TimedSession(await openSession(engine, model, cachePolicy, options, resources), stopCheck);
  let fullPrecision: DecoderSession;
  try {
    stopCheck();
    fullPrecision = new TimedSession(await openSession(engine, model, fullPrecisionPolicy, options, resources), stopCheck);
  } catch (error) {
    await quantized.dispose();
    throw error;
  }
  try {
    // A pooled session may carry statistics of an earlier evaluation: take them from this one's first prefill.
    quantized.restartLayerStats();
    const out = await runProtocol({
      quantized,
      fullPrecision,
      tokenizer,
      maxPositions: model.config.maxPositions,
      options,
      dataset: dataset.data,
      progress: (total) => new ProgressTracker(total, onProgress),
    });
    const c = model.config;
    const shape = { layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim };
    const fp16BytesPerToken = fp16KvBytesPerToken(shape);
    const measured = out.memory?.quantizedBytesPerToken ?? 0;
    // A full-precision cache is reported at the fp16 baseline (what any fp cache is compared with). When
    // no item got far enough to quantize anything (short items, long residual), the buffers say nothing
    // and the accounting formula stands in; kvBytesSource records which.
    const kvBytesSource = options.cache.quant === null ? 'fp16 baseline' : measured > 0 ? 'packed buffers' : 'formula (nothing was quantized)';
    const codecs = layerCodecs(cachePolicy, c);
    const formula = () => codecs!.reduce((n, l) => n + l.key.bytesPerToken + l.value.bytesPerToken, 0);
    const kvBytesPerToken = codecs === null ? fp16BytesPerToken : measured > 0 ? measured : formula();
    stopCheck();
    const attentionStats = codecs ? runAttentionStats(c, sample(), codecs) : [];
    return {
      metrics: out.metrics,
      memory: {
        kvBytesPerToken,
        fp16BytesPerToken,
        ratioToFp16: kvBytesPerToken / fp16BytesPerToken,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      },
      speed: {
        tokensPerSecond: quantized.tokensPerSecond,
        wallSeconds: (performance.now() - started) / 1000,
        ...(quantized.medianStepMs !== null ? { decodeStepMs: quantized.medianStepMs } : {}),
      },
      provider: quantized.provider,
      // Reserved rows change a GPU run's speed, never its numbers; float16 changes both: said where the device is.
      device: (quantized.provider === 'cpu' ? `${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores)` : quantized.provider) + (options.dtype === 'float16' ? ', float16' : '') + (quantized.kvRows === 'reserve' ? ', cache rows reserved' : ''),
      config: options,
      model: { name: options.model, architecture: c.architecture, weightsHash: model.provenance.weightsSha256 },
      benchmark: { name: dataset.name, dataHash: dataset.dataHash, items: out.items },
      versions: softwareVersions(),
      // From the quantized session (for a full-precision run it is itself full precision: norms only).
      layerStats: [...quantized.layerStats(), ...(budget?.layerStats ?? []), ...attentionStats],
      samples: out.samples,
      nonFinite: quantized.nonFinite(),
      protocolRecord: { protocol: options.protocol, ...out.record, kvBytesSource, layerStatsSource: quantized.layerStatsSource(), ...(quantized.attention ? { attention: quantized.attention } : {}), ...(quantized.kvRows ? { kvRows: quantized.kvRows } : {}), ...(options.dtype ? { dtype: options.dtype } : {}) },
      engine,
      weights: quantized.weights ?? { bits: 16 },
      ...(budget ? { allocation: budget.allocation } : {}),
    };
  } finally {
    await quantized.dispose();
    await fullPrecision.dispose();
  }
}
