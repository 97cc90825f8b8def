export type {
  Architecture,
  LayerWeights,
  Llama3RopeScaling,
  LoadedModel,
  ModelConfig,
  ModelProvenance,
  ModelWeights,
  RopePairing,
  RopeScaling,
} from './config';
export { layerWeightSizes, validateModelConfig } from './config';
export { llama2cConfig, loadLlama2c, parseLlama2c } from './llama2c';
export { fileSha256, weightsHash } from './hash';
