// One K/V analysis of a model, end to end: load the model and tokenizer, pick the sample documents, run
// the float64 reference over them, and return weight norms, cache norms and spectra, the verdict and
// (given a quantizer) attention-level metrics. `kvbench analyze` and the queue's analyze jobs both call
// runAnalysis(); toLayerStats / toRunMetrics flatten the result into the database's rows.
import { cpus } from 'node:os';
import { fp16KvBytesPerToken, kvBytesPerToken, type KvQuantConfig } from '@kvbench/quant';
import { loadDataset } from '../data/dataset';
import { sampleTokenDocuments } from '../data/sample-texts';
import type { DataFormat, EvalMetrics, EvalResult, LayerStat } from '../evaluation';
import { loadModel } from '../model/load';
import { softwareVersions } from '../protocols/run-evaluation';
import { loadTokenizer } from '../tokenizer/load';
import { sampleKvCache } from './cache-sample';
import type { CacheSpectra } from './cache-spectra';
import { layerNormAnalyses, normVerdict, type LayerNormAnalysis, type NormVerdict } from './norm-disparity';
import { quantizedAttentionMetrics, type LayerAttentionMetrics } from './quantized-attention';

export interface AnalyzeOptions {
  /** A bundled name (stories260k), a llama2.c .bin file or a Hugging Face directory. */
  model: string;
  /** A bundled benchmark name or a file; null = weights only. Non-bundled files are read as `format`. */
  data: string | null;
  /** Format of a data file; analysis needs text (default 'text'). */
  format?: DataFormat;
  /** Documents in the sample (the first `limit` with at least 2 tokens). */
  limit: number;
  /** Tokens per document (BOS included), cut from the start. */
  maxTokens: number;
  /** Quantizer for the attention-level metrics; null = none. */
  quant: KvQuantConfig | null;
}

export interface LayerAnalysis extends LayerNormAnalysis {
  /** Attention-level metrics under `quant` (absent without a quantizer or a sample). */
  attention?: LayerAttentionMetrics;
}

export interface AnalyzeResult {
  model: { name: string; architecture: string; weightsHash: string; layers: number; heads: number; kvHeads: number; headDim: number };
  benchmark: { name: string; dataHash: string; items: number } | null;
  documents: number;
  tokens: number;
  quant: KvQuantConfig | null;
  layers: LayerAnalysis[];
  verdict: NormVerdict;
  /** "K > V in 5/5 layers (weights Frobenius), 5/5 (weights spectral), ..." */
  verdictLine: string;
  wallSeconds: number;
}

export interface AnalyzeProgress {
  stage: 'loading' | 'sampling' | 'spectra' | 'attention' | 'done';
  documents: number;
  tokens: number;
}

/** One line per model: in how many layers K exceeds V under each norm. */
export function verdictLine(v: NormVerdict): string {
  const n = v.layers;
  const parts = [`${v.weightFrobenius}/${n} layers (weights Frobenius)`, `${v.weightSpectral}/${n} (weights spectral)`];
  if (v.cacheFrobenius !== undefined) {
    parts.push(`${v.cacheFrobenius}/${n} (cache Frobenius)`, `${v.cacheSpectral}/${n} (cache spectral)`);
    parts.push(`${v.preRopeCacheFrobenius}/${n} (pre-RoPE cache Frobenius)`, `${v.preRopeCacheSpectral}/${n} (pre-RoPE cache spectral)`);
  }
  return `K > V in ${parts.join(', ')}`;
}

/** Token sequences of the sample: BOS + text, cut to maxTokens, the first `limit` with >= 2 tokens. */
export const sampleDocuments = sampleTokenDocuments;

function checkOptions(o: AnalyzeOptions): void {
  if (!Number.isInteger(o.limit) || o.limit < 1) throw new Error(`limit: got ${o.limit}, allowed: an integer >= 1`);
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 2) throw new Error(`maxTokens: got ${o.maxTokens}, allowed: an integer >= 2`);
  if (o.quant && o.data === null) throw new Error('data: attention-level metrics (a quantizer) need a data sample');
}

export async function runAnalysis(options: AnalyzeOptions, onProgress: (p: AnalyzeProgress) => void = () => {}): Promise<AnalyzeResult> {
  checkOptions(options);
  const started = performance.now();
  onProgress({ stage: 'loading', documents: 0, tokens: 0 });
  const model = await loadModel(options.model);
  const c = model.config;
  let documents: number[][] = [];
  let benchmark: AnalyzeResult['benchmark'] = null;
  if (options.data !== null) {
    const dataset = loadDataset(options.data, options.format ?? 'text');
    if (dataset.data.kind !== 'text') throw new Error(`data: analysis needs a text data set, ${dataset.name} holds ${dataset.data.kind} items`);
    if (options.maxTokens > c.maxPositions) throw new Error(`maxTokens: got ${options.maxTokens}, the model's context is ${c.maxPositions} tokens`);
    const tokenizer = await loadTokenizer(options.model);
    documents = sampleDocuments(dataset.data.documents, (t) => tokenizer.encode(t, { bos: true }), options.limit, options.maxTokens);
    if (documents.length === 0) throw new Error(`data: no document of ${dataset.name} has at least 2 tokens`);
    benchmark = { name: dataset.name, dataHash: dataset.dataHash, items: documents.length };
  }
  const tokens = documents.reduce((n, d) => n + d.length, 0);
  onProgress({ stage: 'sampling', documents: documents.length, tokens });
  const sample = tokens > 0 ? sampleKvCache(c, model.weights, documents, { withQueries: options.quant !== null }) : null;
  onProgress({ stage: 'spectra', documents: documents.length, tokens });
  const layers: LayerAnalysis[] = layerNormAnalyses(c, model.weights, sample);
  if (sample && options.quant) {
    onProgress({ stage: 'attention', documents: documents.length, tokens });
    const attention = quantizedAttentionMetrics(c, sample, documents.map((d) => d.length), options.quant);
    attention.forEach((a, l) => (layers[l].attention = a));
  }
  const verdict = normVerdict(layers);
  onProgress({ stage: 'done', documents: documents.length, tokens });
  return {
    model: {
      name: options.model,
      architecture: c.architecture,
      weightsHash: model.provenance.weightsSha256,
      layers: c.layers,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: c.headDim,
    },
    benchmark,
    documents: documents.length,
    tokens,
    quant: options.quant,
    layers,
    verdict,
    verdictLine: verdictLine(verdict),
    wallSeconds: (performance.now() - started) / 1000,
  };
}

function spectraStats(out: LayerStat[], layer: number, tensor: 'k' | 'v', name: string, s: CacheSpectra): void {
  const add = (metric: string, value: number) => out.push({ layer, tensor, metric: `${name}.${metric}`, value });
  add('frobenius', s.frobenius);
  add('spectral', s.spectral);
  s.singularValues.forEach((v, i) => add(`sv.${i}`, v));
  s.heads.forEach((h, i) => {
    add(`head.${i}.frobenius`, h.frobenius);
    add(`head.${i}.spectral`, h.spectral);
  });
  for (const band of ['min', 'max', 'mean'] as const) s.headSingularValues[band].forEach((v, i) => add(`headsv.${band}.${i}`, v));
}

/**
 * The per-layer rows for layer_stats. Tensor k: wk.*, k.* (post-RoPE cache), kPreRope.*, and the
 * attention metrics that depend on the keys (attn.klMean, attn.klMax) plus relError; tensor v: wv.*,
 * v.*, relError and attn.outputRelError. Spectra: `<name>.sv.<i>` (whole matrix, descending) and
 * `<name>.headsv.<min|max|mean>.<i>` (band across KV heads); per head `<name>.head.<h>.<norm>`.
 */
export function toLayerStats(r: AnalyzeResult): LayerStat[] {
  const out: LayerStat[] = [];
  for (const l of r.layers) {
    const layer = l.layer;
    for (const [tensor, w, name] of [['k', l.wk, 'wk'], ['v', l.wv, 'wv']] as const) {
      out.push({ layer, tensor, metric: `${name}.frobenius`, value: w.frobenius }, { layer, tensor, metric: `${name}.spectral`, value: w.spectral });
      w.heads.forEach((h, i) => {
        out.push({ layer, tensor, metric: `${name}.head.${i}.frobenius`, value: h.frobenius });
        out.push({ layer, tensor, metric: `${name}.head.${i}.spectral`, value: h.spectral });
      });
    }
    if (l.k) spectraStats(out, layer, 'k', 'k', l.k);
    if (l.kPreRope) spectraStats(out, layer, 'k', 'kPreRope', l.kPreRope);
    if (l.v) spectraStats(out, layer, 'v', 'v', l.v);
    const a = l.attention;
    if (a) {
      out.push(
        { layer, tensor: 'k', metric: 'attn.klMean', value: a.klMean },
        { layer, tensor: 'k', metric: 'attn.klMax', value: a.klMax },
        { layer, tensor: 'k', metric: 'relError', value: a.keyRelativeError },
        { layer, tensor: 'v', metric: 'relError', value: a.valueRelativeError },
        { layer, tensor: 'v', metric: 'attn.outputRelError', value: a.outputRelativeError },
      );
    }
  }
  return out;
}

/** Model-level numbers for run_metrics: layer counts where K > V, mean norms and ratios, sample size. */
export function toRunMetrics(r: AnalyzeResult): Record<string, number> {
  const v = r.verdict;
  const m: Record<string, number> = {
    layers: v.layers,
    'layersKgtV.frobenius': v.weightFrobenius,
    'layersKgtV.spectral': v.weightSpectral,
    documents: r.documents,
    tokens: r.tokens,
  };
  if (v.cacheFrobenius !== undefined) {
    m['layersKgtV.cache.frobenius'] = v.cacheFrobenius;
    m['layersKgtV.cache.spectral'] = v.cacheSpectral!;
    m['layersKgtV.preRope.frobenius'] = v.preRopeCacheFrobenius!;
    m['layersKgtV.preRope.spectral'] = v.preRopeCacheSpectral!;
  }
  const mean = (f: (l: LayerAnalysis) => number) => r.layers.reduce((s, l) => s + f(l), 0) / Math.max(1, r.layers.length);
  m['wk.frobenius.mean'] = mean((l) => l.wk.frobenius);
  m['wv.frobenius.mean'] = mean((l) => l.wv.frobenius);
  m['wk.spectral.mean'] = mean((l) => l.wk.spectral);
  m['wv.spectral.mean'] = mean((l) => l.wv.spectral);
  if (r.layers.every((l) => l.k && l.v)) {
    m['k.frobenius.mean'] = mean((l) => l.k!.frobenius);
    m['v.frobenius.mean'] = mean((l) => l.v!.frobenius);
  }
  if (r.layers.every((l) => l.attention)) {
    m['attn.klMean'] = mean((l) => l.attention!.klMean);
    m['attn.outputRelError'] = mean((l) => l.attention!.outputRelativeError);
    m['k.relError'] = mean((l) => l.attention!.keyRelativeError);
    m['v.relError'] = mean((l) => l.attention!.valueRelativeError);
  }
  return m;
}

/**
 * The analysis in the shape the inference worker stores for every run (EvalResult): metrics from
 * toRunMetrics, layerStats from toLayerStats, no samples; KV bytes per token by the accounting formula.
 */
export function analysisEvalResult(r: AnalyzeResult, provider: EvalResult['provider'] = 'cpu'): EvalResult {
  const shape = { layers: r.model.layers, kvHeads: r.model.kvHeads, headDim: r.model.headDim };
  const fp16 = fp16KvBytesPerToken(shape);
  const kv = r.quant ? kvBytesPerToken(shape, r.quant) : fp16;
  return {
    metrics: toRunMetrics(r) as EvalMetrics,
    memory: { kvBytesPerToken: kv, fp16BytesPerToken: fp16, ratioToFp16: kv / fp16, peakRssBytes: process.resourceUsage().maxRSS * 1024 },
    speed: { tokensPerSecond: r.wallSeconds > 0 ? r.tokens / r.wallSeconds : 0, wallSeconds: r.wallSeconds },
    provider,
    device: `${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), float64 reference`,
    config: undefined as never,
    model: { name: r.model.name, architecture: r.model.architecture, weightsHash: r.model.weightsHash },
    benchmark: r.benchmark ?? { name: 'none', dataHash: '', items: 0 },
    versions: softwareVersions(),
    layerStats: toLayerStats(r),
    samples: [],
    nonFinite: 0,
    protocolRecord: { protocol: 'analyze', documents: r.documents, tokens: r.tokens, verdict: r.verdictLine },
    engine: 'reference',
  };
}
