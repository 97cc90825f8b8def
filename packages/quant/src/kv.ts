// Key and value quantizers are configured independently (bits, backend, layout, group size, dtype).

import { QuantConfigError, quantizerConfig, type KvQuantConfig, type QuantizerConfig } from './config';
import { validateLayout } from './layout';

/**
 * Validates and fills defaults for a key/value pair; errors name "key.bits", "value.groupSize", ...
 * With `shape` ([batch, kvHeads, seq, headDim]) the layouts are also checked against it.
 */
export function kvQuantConfig(
  input: { key?: Partial<QuantizerConfig>; value?: Partial<QuantizerConfig> },
  shape?: readonly number[],
): KvQuantConfig {
  if (input === null || typeof input !== 'object') throw new QuantConfigError('kv', 'allowed: an object { key, value }');
  const key = quantizerConfig(input.key ?? {}, 'key');
  const value = quantizerConfig(input.value ?? {}, 'value');
  if (shape) {
    validateLayout(shape, key.axis, key.groupSize, 'key');
    validateLayout(shape, value.axis, value.groupSize, 'value');
  }
  return { key, value };
}
