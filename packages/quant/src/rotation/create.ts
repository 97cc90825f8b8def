// One entry point for the rotation kinds a config can name.
import { RandomizedHadamard } from './hadamard';
import { HaarRotation, IdentityRotation } from './haar';
import type { Rotation } from './rotation';

export const ROTATION_KINDS = ['hadamard', 'haar', 'identity'] as const;
export type RotationKind = (typeof ROTATION_KINDS)[number];

export interface RotationConfig {
  kind: RotationKind;
  seed: number;
  /** Walsh-Hadamard rounds (default 1); ignored by the other kinds. */
  rounds?: number;
}

export function createRotation(dim: number, config: RotationConfig): Rotation {
  switch (config.kind) {
    case 'hadamard':
      return new RandomizedHadamard(dim, { seed: config.seed, rounds: config.rounds });
    case 'haar':
      return new HaarRotation(dim, { seed: config.seed });
    case 'identity':
      return new IdentityRotation(dim);
    default:
      throw new Error(`rotation.kind: unknown rotation "${String((config as { kind: unknown }).kind)}" (expected ${ROTATION_KINDS.join(', ')})`);
  }
}

/** Rotates a [rows, dim] block of head vectors (row-major) with the same Π: q·k is preserved. */
export function rotateRows(rotation: Rotation, x: ArrayLike<number>, rows: number): Float64Array {
  const { inputDim, outputDim } = rotation;
  if (x.length !== rows * inputDim) throw new Error(`rotateRows: ${x.length} values, expected ${rows} x ${inputDim}`);
  const out = new Float64Array(rows * outputDim);
  const row = new Float64Array(inputDim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputDim; i++) row[i] = x[r * inputDim + i];
    out.set(rotation.apply(row), r * outputDim);
  }
  return out;
}

/** Inverse of rotateRows: [rows, outputDim] -> [rows, inputDim]. */
export function unrotateRows(rotation: Rotation, y: ArrayLike<number>, rows: number): Float64Array {
  const { inputDim, outputDim } = rotation;
  if (y.length !== rows * outputDim) throw new Error(`unrotateRows: ${y.length} values, expected ${rows} x ${outputDim}`);
  const out = new Float64Array(rows * inputDim);
  const row = new Float64Array(outputDim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < outputDim; i++) row[i] = y[r * outputDim + i];
    out.set(rotation.applyTranspose(row), r * inputDim);
  }
  return out;
}
