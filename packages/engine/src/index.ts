// @kvbench/engine: model loaders, tokenizers, the float64 reference, decoder sessions, benchmark
// protocols and metrics. evaluate() is the one entry point for running a benchmark.
export type {
  BudgetAllocation,
  BudgetOption,
  CacheMode,
  CachePolicy,
  DataFormat,
  EvalMetrics,
  EvalOptions,
  EvalProgress,
  EvalResult,
  EvalSample,
  EvaluateControls,
  ExecutionProvider,
  LayerStat,
  PrefillPolicy,
  Protocol,
  ResidualMode,
  RotationOption,
  TurboOption,
  TurboSchemeName,
  WeightPrecision,
} from './evaluation';
export { layerCodecs, layerCodecSpecs } from './codec';
export type { CodecSpec, LayerCodecs, TensorCodec } from './codec';
export { resolveCacheBudget } from './budget/resolve-budget';
export type { DecoderSession, KvMemory } from './session';
export { evaluate } from './evaluate';
export { createEvaluationHost, EvaluationHost } from './host/evaluation-host';
export type { EvaluationHostOptions, EvaluationHostStats, HostInternalOptions } from './host/evaluation-host';
export { runEvaluation, validateEvalOptions, softwareVersions } from './protocols/run-evaluation';
export type { EvaluationResources, InternalEvalOptions, SessionEngine } from './protocols/run-evaluation';

export * from './data';
export * from './metrics';
export * from './protocols';
export * from './model';
export * from './tokenizer';
export * from './runtime';
// The reference's argmax / negativeLogLikelihood equal the metrics' ones; export the rest.
export { ReferenceModel, applyRope, greedyGenerate, ropeInverseFrequencies, sequenceNll } from './reference';
export type { CacheKind, ReferenceOptions } from './reference';
// K/V norm and spectrum analysis (issue 6): `kvbench analyze` and the queue's analyze jobs.
export * from './analysis';
