export { argmax, logSoftmax } from './log-softmax';
export { klDivergence, negativeLogLikelihood } from './divergence';
export { binomialStderr, clusteredMean, mean, meanStderr } from './stderr';
export { PairedScore } from './paired-score';
