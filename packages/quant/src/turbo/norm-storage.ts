// The dtype a TurboQuant norm (ν, γ) is stored in; the TS path rounds to it so its decode equals what a
// packed cache would give.
import { roundBf16, roundFp16 } from '../rounding';

export const NORM_DTYPES = ['float16', 'bfloat16', 'float32', 'float64'] as const;
export type NormDtype = (typeof NORM_DTYPES)[number];

export function normBits(dtype: NormDtype): number {
  return dtype === 'float64' ? 64 : dtype === 'float32' ? 32 : 16;
}

export function roundNorm(x: number, dtype: NormDtype): number {
  switch (dtype) {
    case 'float16':
      return roundFp16(x);
    case 'bfloat16':
      return roundBf16(x);
    case 'float32':
      return Math.fround(x);
    case 'float64':
      return x;
    default:
      throw new Error(`normDtype: unknown "${String(dtype)}" (expected ${NORM_DTYPES.join(', ')})`);
  }
}
