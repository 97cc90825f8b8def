// Analyze runs (protocol 'analyze', issue 6): the K/V norm and spectrum analysis of the engine's
// runAnalysis(), in a worker thread, returned in the EvalResult shape every run is stored from
// (resultRows -> writeRunResult): per-layer rows in layer_stats, model-level counts in run_metrics.
import type { AnalyzeOptions, EvalProgress, EvalResult } from '@kvbench/engine';
import { runKvQuantConfig, type RunConfig } from '@kvbench/protocol';
import { resolveModel } from './eval-options';

export function toAnalyzeOptions(c: RunConfig, env: Record<string, string | undefined> = process.env): AnalyzeOptions {
  return { model: resolveModel(c.model, env), data: c.benchmark, format: c.format, limit: c.limit, maxTokens: c.maxTokens, quant: runKvQuantConfig(c) };
}

export async function analyzeRun(c: RunConfig, controls: { signal?: AbortSignal; onProgress?: (p: EvalProgress) => void } = {}): Promise<EvalResult> {
  const engine = await import('@kvbench/engine');
  const started = Date.now();
  const result = await engine.analyze(toAnalyzeOptions(c), {
    signal: controls.signal,
    onProgress: (p) =>
      controls.onProgress?.({
        itemsDone: p.stage === 'done' ? p.documents : 0,
        itemsTotal: p.documents || c.limit,
        tokensDone: p.stage === 'done' ? p.tokens : 0,
        tokensPerSecond: p.stage === 'done' ? p.tokens / Math.max(1e-3, (Date.now() - started) / 1000) : 0,
        etaSeconds: p.stage === 'done' ? 0 : null,
      }),
  });
  return engine.analysisEvalResult(result, c.provider);
}
