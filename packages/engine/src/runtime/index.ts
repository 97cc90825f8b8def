export { createOnnxSession } from './create-session';
export type { OnnxSessionOptions, SessionModel } from './create-session';
export { OnnxDecoderSession } from './onnx-session';
export { CachePolicyError, defaultCachePolicy, validateCachePolicy } from './policy';
export { prefillQuantizedTokens, stepFlushTokens, tokenQuantum } from './cache-schedule';
export { PROVIDERS, providerSessionOptions } from './providers';
export type { SessionOptions } from './providers';
export { attentionBias } from './attention-bias';
export { clearGraphCache } from './graph-cache';
