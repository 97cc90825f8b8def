import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat, SeededRandom } from '../src/model';
import { decodeToFloat32, encodeFromFloat32 } from '../src/model/dtype';

describe('half / bfloat16 conversion', () => {
  it('matches known float16 bit patterns', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -24, 0x0001], [2 ** -14, 0x0400],
      [0.333251953125, 0x3555], [Infinity, 0x7c00], [1e6, 0x7c00],
    ];
    for (const [value, bits] of cases) {
      expect(floatToHalf(value)).toBe(bits);
      if (Number.isFinite(value) && value <= 65504) expect(halfToFloat(bits)).toBe(value);
    }
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('round-trips every finite float16 value', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) !== 0x7c00 && floatToHalf(halfToFloat(bits)) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('bfloat16 rounds to nearest even and widens exactly', () => {
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(bfloat16ToFloat(0x3f80)).toBe(1);
    expect(floatToBfloat16(-3.140625)).toBe(0xc049);
    expect(floatToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16(NaN)))).toBe(true);
  });

  it('bulk encode / decode agree with the scalar conversions', () => {
    const values = new SeededRandom('dtype').fillNormal(new Float32Array(4099), 3) as Float32Array;
    values[0] = NaN;
    values[1] = -0;
    values[2] = 70000;
    for (const [dtype, encode, decode] of [['BF16', floatToBfloat16, bfloat16ToFloat], ['F16', floatToHalf, halfToFloat]] as const) {
      const bytes = encodeFromFloat32(values, dtype);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const decoded = decodeToFloat32(bytes, dtype);
      let mismatches = 0;
      for (let i = 0; i < values.length; i++) {
        if (view.getUint16(2 * i, true) !== encode(values[i])) mismatches++;
        if (!Object.is(decoded[i], Math.fround(decode(encode(values[i])))) && !Number.isNaN(decoded[i])) mismatches++;
      }
      expect(mismatches, dtype).toBe(0);
      expect(Number.isNaN(decoded[0])).toBe(true);
    }
    expect(decodeToFloat32(encodeFromFloat32(values, 'F32'), 'F32')).toEqual(values);
  });
});
