// Code widths: an integer number of bits 1..8, or a fractional width naming a level count that is not a
// power of two. 1.58 (log2 3) is ternary: codes 0, 1, 2 (HQQ's Q = round(2^1.58 - 1) = 2), stored in 2
// bits each, i.e. packed exactly as a 2-bit tensor whose codes never exceed 2 (quantizers.md §4.2, §10.1).

export const MIN_BITS = 1;
export const MAX_BITS = 8;

/** The fractional widths accepted besides the integers MIN_BITS..MAX_BITS. */
export const FRACTIONAL_BITS: readonly number[] = [1.58];

/** Largest code of each fractional width (levels = maxCode + 1). */
const FRACTIONAL_MAX_CODE: ReadonlyMap<number, number> = new Map([[1.58, 2]]);

/** The allowed widths, as quoted in error messages. */
export const ALLOWED_BITS = `integers ${MIN_BITS}..${MAX_BITS} or ${FRACTIONAL_BITS.join(', ')}`;

export function isCodeWidth(bits: number): boolean {
  return (Number.isInteger(bits) && bits >= MIN_BITS && bits <= MAX_BITS) || FRACTIONAL_BITS.includes(bits);
}

function check(bits: number): void {
  if (!isCodeWidth(bits)) throw new RangeError(`bits: got ${bits}, allowed: ${ALLOWED_BITS}`);
}

/** Largest code Q (codes are 0..Q): 2 for 1.58, 2^b - 1 otherwise. */
export function maxCode(bits: number): number {
  check(bits);
  return FRACTIONAL_MAX_CODE.get(bits) ?? 2 ** bits - 1;
}

/** Bits one code occupies once packed: the smallest integer width that holds maxCode (2 for 1.58). */
export function storageBits(bits: number): number {
  check(bits);
  return Number.isInteger(bits) ? bits : Math.ceil(Math.log2(maxCode(bits) + 1));
}
