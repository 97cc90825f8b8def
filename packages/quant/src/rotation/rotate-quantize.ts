// Rotation as a wrapper around any grouped quantizer (issue 6 item 4): rotate each head vector by Π,
// quantize in the rotated basis (where an outlier channel is spread over all coordinates), dequantize,
// rotate back with Πᵀ. Keys and queries rotated by the same Π keep q·k, so attention can also read
// the rotated keys directly if the queries are rotated too.
import { rotateRows, unrotateRows } from './create';
import type { Rotation } from './rotation';

/**
 * `fakeQuantize` receives the rotated block [rows, rotation.outputDim] and returns its dequantized
 * version (same shape); the result is mapped back to [rows, rotation.inputDim].
 */
export function quantizeRotated(
  rotation: Rotation,
  x: ArrayLike<number>,
  rows: number,
  fakeQuantize: (rotated: Float64Array, rows: number, dim: number) => ArrayLike<number>,
): Float64Array {
  const rotated = rotateRows(rotation, x, rows);
  const restored = fakeQuantize(rotated, rows, rotation.outputDim);
  if (restored.length !== rotated.length) {
    throw new Error(`quantizeRotated: quantizer returned ${restored.length} values, expected ${rotated.length}`);
  }
  return unrotateRows(rotation, restored, rows);
}
