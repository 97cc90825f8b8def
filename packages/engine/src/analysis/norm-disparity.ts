// The K/V norm-disparity analysis of one model (Hariri et al., Theorem 1; issue 6 item 1): per layer,
// norms of W_K and W_V and, on a data sample, norms and spectra of the cached keys and values; then
// a verdict counting the layers where K exceeds V under each norm.
import type { ModelConfig, ModelWeights } from '../model/config';
import { sampleKvCache, type LayerCacheSample } from './cache-sample';
import type { CacheSpectra } from './cache-spectra';
import { cacheSpectra } from './cache-spectra';
import type { ProjectionNorms } from './weight-norms';
import { weightNorms } from './weight-norms';

export interface LayerNormAnalysis {
  layer: number;
  wk: ProjectionNorms;
  wv: ProjectionNorms;
  /** Cached keys after RoPE; absent when no sample documents were given. */
  k?: CacheSpectra;
  kPreRope?: CacheSpectra;
  v?: CacheSpectra;
}

/** Number of layers where the key quantity exceeds the value quantity, out of `layers`. */
export interface NormVerdict {
  layers: number;
  weightFrobenius: number;
  weightSpectral: number;
  cacheFrobenius?: number;
  cacheSpectral?: number;
  preRopeCacheFrobenius?: number;
  preRopeCacheSpectral?: number;
}

export interface NormAnalysis {
  layers: LayerNormAnalysis[];
  verdict: NormVerdict;
}

export function analyzeNorms(config: ModelConfig, weights: ModelWeights, documents: readonly number[][] = []): NormAnalysis {
  const sample = documents.some((d) => d.length > 0) ? sampleKvCache(config, weights, documents) : null;
  const layers = layerNormAnalyses(config, weights, sample);
  return { layers, verdict: normVerdict(layers) };
}

/** Per layer: W_K / W_V norms and, given a cache sample, the spectra of its keys (post- and pre-RoPE) and values. */
export function layerNormAnalyses(config: ModelConfig, weights: ModelWeights, sample: readonly LayerCacheSample[] | null): LayerNormAnalysis[] {
  return weightNorms(config, weights).map((w, l) => {
    const entry: LayerNormAnalysis = { layer: l, wk: w.wk, wv: w.wv };
    if (sample) {
      entry.k = cacheSpectra(sample[l].keys, config.kvHeads, config.headDim);
      entry.kPreRope = cacheSpectra(sample[l].keysPreRope, config.kvHeads, config.headDim);
      entry.v = cacheSpectra(sample[l].values, config.kvHeads, config.headDim);
    }
    return entry;
  });
}

export function normVerdict(layers: readonly LayerNormAnalysis[]): NormVerdict {
  const count = (f: (l: LayerNormAnalysis) => boolean) => layers.filter(f).length;
  const verdict: NormVerdict = {
    layers: layers.length,
    weightFrobenius: count((l) => l.wk.frobenius > l.wv.frobenius),
    weightSpectral: count((l) => l.wk.spectral > l.wv.spectral),
  };
  if (layers.length > 0 && layers.every((l) => l.k && l.v && l.kPreRope)) {
    verdict.cacheFrobenius = count((l) => l.k!.frobenius > l.v!.frobenius);
    verdict.cacheSpectral = count((l) => l.k!.spectral > l.v!.spectral);
    verdict.preRopeCacheFrobenius = count((l) => l.kPreRope!.frobenius > l.v!.frobenius);
    verdict.preRopeCacheSpectral = count((l) => l.kPreRope!.spectral > l.v!.spectral);
  }
  return verdict;
}

/** One line for the CLI: "K > V in 5/5 layers (W Frobenius), 5/5 (W spectral), ...". */
export function formatVerdict(v: NormVerdict): string {
  const parts = [`W_K>W_V Frobenius ${v.weightFrobenius}/${v.layers}`, `spectral ${v.weightSpectral}/${v.layers}`];
  if (v.cacheFrobenius !== undefined) {
    parts.push(`cache K>V Frobenius ${v.cacheFrobenius}/${v.layers}`, `spectral ${v.cacheSpectral}/${v.layers}`);
    parts.push(`pre-RoPE K>V Frobenius ${v.preRopeCacheFrobenius}/${v.layers}`, `spectral ${v.preRopeCacheSpectral}/${v.layers}`);
  }
  return parts.join('; ');
}

export type SensitivityScore = 'frobenius' | 'spectral';
export type SensitivitySource = 'weights' | 'cache';

/**
 * Per-layer sensitivities for the norm-aware bit/group budget (quantizers.md §6.2): the chosen norm of
 * W_K / W_V (source 'weights', what spectral-kv's assets appear to hold) or of the cached K / V.
 */
export function layerSensitivities(
  analysis: NormAnalysis,
  score: SensitivityScore,
  source: SensitivitySource = 'weights',
): { key: number[]; value: number[] } {
  const pick = (l: LayerNormAnalysis, kind: 'k' | 'v'): number => {
    if (source === 'weights') return (kind === 'k' ? l.wk : l.wv)[score];
    const c = kind === 'k' ? l.k : l.v;
    if (!c) throw new Error(`layerSensitivities: layer ${l.layer} has no cache sample (source 'cache' needs documents)`);
    return c[score];
  };
  return { key: analysis.layers.map((l) => pick(l, 'k')), value: analysis.layers.map((l) => pick(l, 'v')) };
}
