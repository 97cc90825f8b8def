export type { EncodeOptions, TextTokenizer } from './types';
export { Llama2cTokenizer } from './llama2c';
