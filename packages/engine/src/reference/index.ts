export { ReferenceModel } from './forward';
export type { CacheKind, ReferenceOptions } from './forward';
export { applyRope, ropeInverseFrequencies } from './rope';
export { argmax, greedyGenerate, negativeLogLikelihood, sequenceNll } from './sequence';
