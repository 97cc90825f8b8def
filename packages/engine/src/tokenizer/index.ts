export type { EncodeOptions, TextTokenizer } from './types';
export { Llama2cTokenizer } from './llama2c';
export { HfTokenizer } from './huggingface';
export type { ByteLevelBpeOptions, ByteLevelBpeTokenizer } from './byte-level-bpe';
export { buildByteLevelBpe, bytesToUnicode } from './byte-level-bpe';
export { loadTokenizer } from './load';
