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
export { llama2cConfig, loadLlama2c, parseLlama2c, readLlama2cConfig } from './llama2c';
export type { HfConfigJson } from './hf-config';
export { normalizeHfConfig, SUPPORTED_ARCHITECTURES } from './hf-config';
export type { HfTensorSpec } from './hf-tensors';
export { assembleWeights, hfTensorSpecs } from './hf-tensors';
export { loadHuggingFace, readHfConfig, SAFETENSORS_INDEX } from './huggingface';
export type { BundledModelName, ModelSource } from './load';
export { BUNDLED_MODELS, ENGINE_ASSETS_DIR, loadModel, readModelConfig, resolveModelSpec } from './load';
export { fileSha256, weightsHash } from './hash';
export type { StorageDtype } from './dtype';
export { bfloat16ToFloat, decodeToFloat32, DTYPE_BYTES, encodeFromFloat32, floatToBfloat16, floatToHalf, halfToFloat } from './dtype';
export type { TensorInfo, TensorToWrite } from './safetensors';
export { SafetensorsFile, writeSafetensors } from './safetensors';
export type { PresetName, TinyPresetName } from './presets';
export { HF_PRESETS, MODEL_PRESETS, PRESET_NAMES, presetConfig, presetHfConfig, TINY_HF_PRESETS, TINY_PRESET_NAMES } from './presets';
export type { GeneratedModel, GenerateModelOptions } from './generate';
export { DEFAULT_INIT_STD, generateRandomModel, randomModelWeights, randomTensor } from './generate';
export { SeededRandom } from './random';
