import { describe, expect, it } from 'vitest';
import { pack, packedBytes, unpack } from '../src/packing';
import { referencePack } from '../src/reference';
import { rng, SEED } from './random';

const why = `seed ${SEED}`;

describe('dense bit packing', () => {
  it('a block of 8 codes fills exactly b bytes, for every b in 1..8', () => {
    for (let b = 1; b <= 8; b++) {
      expect(packedBytes(8, b)).toBe(b);
      expect(packedBytes(8 * 1000, b)).toBe(1000 * b);
      expect(packedBytes(9, b)).toBe(2 * b); // the last partial block is padded to a whole block
      expect(packedBytes(0, b)).toBe(0);
    }
  });

  it('writes the documented bytes', () => {
    expect(Array.from(pack(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 4))).toEqual([0x21, 0x43, 0x65, 0x87]);
    expect(Array.from(pack(Uint8Array.of(0, 1, 2, 3, 3, 2, 1, 0), 2))).toEqual([0b11100100, 0b00011011]);
    expect(Array.from(pack(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 1), 1))).toEqual([0b10000001]);
    // b = 3: c0 | c1<<3 | (c2&3)<<6, c2>>2 | c3<<1 | c4<<4 | (c5&1)<<7, c5>>1 | c6<<2 | c7<<5
    const c = [5, 3, 6, 1, 7, 2, 4, 7];
    expect(Array.from(pack(Uint8Array.from(c), 3))).toEqual([
      (c[0] | (c[1] << 3) | ((c[2] & 3) << 6)) & 255,
      ((c[2] >> 2) | (c[3] << 1) | (c[4] << 4) | ((c[5] & 1) << 7)) & 255,
      ((c[5] >> 1) | (c[6] << 2) | (c[7] << 5)) & 255,
    ]);
    // block = sum_i c_i * 2^(i*b) read little-endian, for b = 7
    const c7 = [100, 1, 127, 64, 3, 99, 0, 45];
    let value = 0n;
    c7.forEach((v, i) => (value += BigInt(v) << BigInt(7 * i)));
    const bytes = Array.from({ length: 7 }, (_, k) => Number((value >> BigInt(8 * k)) & 255n));
    expect(Array.from(pack(Uint8Array.from(c7), 7))).toEqual(bytes);
  });

  it('round-trips and equals the bit-by-bit reference on random codes, every b and ragged lengths', () => {
    const r = rng(SEED);
    for (let b = 1; b <= 8; b++) {
      for (const count of [1, 7, 8, 9, 63, 64, 65, 1000 + Math.floor(r() * 100)]) {
        const codes = Uint8Array.from({ length: count }, () => Math.floor(r() * 2 ** b));
        const packed = pack(codes, b);
        expect(packed.length).toBe(packedBytes(count, b));
        expect(packed, `${why} b=${b} count=${count}`).toEqual(referencePack(codes, b));
        expect(unpack(packed, b, count), `${why} b=${b} count=${count}`).toEqual(codes);
      }
    }
  });

  it('masks codes wider than b bits and rejects bad arguments', () => {
    expect(Array.from(pack(Uint8Array.of(0xff, 0, 0, 0, 0, 0, 0, 0), 2))).toEqual([3, 0]);
    expect(() => pack(new Uint8Array(8), 0)).toThrow(/bits: got 0, allowed: integers 1\.\.8/);
    expect(() => packedBytes(8, 9)).toThrow(/bits: got 9/);
    expect(() => unpack(new Uint8Array(2), 4, 8)).toThrow(/packed: holds 2 bytes, 8 codes of 4 bits need 4/);
  });
});
