export { ReferenceModel } from './forward';
export type { CacheKind, ReferenceOptions } from './forward';
export { applyRope, ropeInverseFrequencies } from './rope';
export { argmax, greedyGenerate, negativeLogLikelihood, sequenceNll } from './sequence';
export { matmul, matmulRows } from './matmul';
export type { Matmul } from './matmul';
export { MatmulThreads, referenceThreadCount, referenceThreads } from './matmul-threads';
export type { MatmulThreadsOptions } from './matmul-threads';
