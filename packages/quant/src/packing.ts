// Dense bit packing of b-bit codes (b = 1..8) into bytes. The ONNX emitters produce the same bytes.
//
// LAYOUT (the one and only packed format of kvbench):
// * Codes are taken in group-major order (code k = member k % G of group floor(k / G), see layout.ts).
// * Every run of 8 consecutive codes (a "block": codes 8j .. 8j+7) fills exactly b bytes
//   (bytes b*j .. b*j+b-1). Inside a block, code 8j+i occupies bits [i*b, i*b+b) of the block read as a
//   little-endian (8b)-bit unsigned integer, i.e. bit t of the block is bit (t % 8) of byte b*j + floor(t / 8).
//   Equivalently, value = sum_i code_i * 2^(i*b) and byte_k = floor(value / 2^(8k)) mod 256.
// * Since a block is a whole number of bytes this is also the plain little-endian bit stream: code k
//   occupies stream bits [k*b, k*b+b).
// * A last partial block is completed with zero codes, so packedBytes(count, b) = ceil(count/8) * b.
// Examples: b=4: byte = lo nibble code 2i, hi nibble code 2i+1. b=2: byte = c0 | c1<<2 | c2<<4 | c3<<6.
// b=3: codes c0..c7 -> byte0 = c0 | c1<<3 | (c2&3)<<6, byte1 = c2>>2 | c3<<1 | c4<<4 | (c5&1)<<7,
//      byte2 = c5>>1 | c6<<2 | c7<<5.  b=8: bytes are the codes.

import { MAX_BITS, MIN_BITS, QuantConfigError } from './config';

function checkBits(bits: number, field = 'bits'): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new QuantConfigError(field, `got ${bits}, allowed: integers ${MIN_BITS}..${MAX_BITS}`);
  }
}

/** Bytes that `count` codes of `bits` bits occupy once packed (blocks of 8 codes = `bits` bytes). */
export function packedBytes(count: number, bits: number): number {
  checkBits(bits);
  return Math.ceil(count / 8) * bits;
}

/**
 * Packs codes (each < 2^bits; higher bits are masked off) into the dense layout above.
 * `out` may be given to avoid an allocation; it must hold packedBytes(codes.length, bits).
 */
export function pack(codes: Uint8Array, bits: number, out?: Uint8Array): Uint8Array {
  const bytes = packedBytes(codes.length, bits);
  const packed = out ?? new Uint8Array(bytes);
  if (packed.length < bytes) throw new QuantConfigError('out', `holds ${packed.length} bytes, needs ${bytes}`);
  const n = codes.length;
  if (bits === 8) {
    packed.set(codes);
    packed.fill(0, n, bytes);
    return packed;
  }
  const mask = (1 << bits) - 1;
  if (bits === 1 || bits === 2 || bits === 4) {
    // Whole codes per byte: byte k holds codes k*per .. k*per+per-1, lowest bits first.
    const per = 8 / bits;
    const full = Math.floor(n / per);
    let k = 0;
    for (; k < full; k++) {
      let byte = 0;
      const c = k * per;
      for (let j = 0; j < per; j++) byte |= (codes[c + j] & mask) << (j * bits);
      packed[k] = byte;
    }
    if (k * per < n) {
      let byte = 0;
      for (let j = 0; k * per + j < n; j++) byte |= (codes[k * per + j] & mask) << (j * bits);
      packed[k++] = byte;
    }
    packed.fill(0, k, bytes);
    return packed;
  }
  let acc = 0; // pending bits, at most 7 + 8 = 15 of them
  let held = 0;
  let o = 0;
  for (let k = 0; k < n; k++) {
    acc |= (codes[k] & mask) << held;
    held += bits;
    if (held >= 8) {
      packed[o++] = acc & 0xff;
      acc >>>= 8;
      held -= 8;
    }
  }
  if (held > 0) packed[o++] = acc & 0xff;
  packed.fill(0, o, bytes); // zero codes of the last partial block
  return packed;
}

/** Unpacks `count` codes of `bits` bits from the dense layout above. */
export function unpack(packed: Uint8Array, bits: number, count: number, out?: Uint8Array): Uint8Array {
  const bytes = packedBytes(count, bits);
  if (packed.length < bytes) {
    throw new QuantConfigError('packed', `holds ${packed.length} bytes, ${count} codes of ${bits} bits need ${bytes}`);
  }
  const codes = out ?? new Uint8Array(count);
  if (bits === 8) {
    codes.set(packed.subarray(0, count));
    return codes;
  }
  const mask = (1 << bits) - 1;
  if (bits === 1 || bits === 2 || bits === 4) {
    const per = 8 / bits;
    const full = Math.floor(count / per);
    for (let k = 0; k < full; k++) {
      const byte = packed[k];
      const c = k * per;
      for (let j = 0; j < per; j++) codes[c + j] = (byte >>> (j * bits)) & mask;
    }
    for (let c = full * per; c < count; c++) codes[c] = (packed[full] >>> ((c - full * per) * bits)) & mask;
    return codes;
  }
  let acc = 0;
  let held = 0;
  let i = 0;
  for (let k = 0; k < count; k++) {
    if (held < bits) {
      acc |= packed[i++] << held;
      held += 8;
    }
    codes[k] = acc & mask;
    acc >>>= bits;
    held -= bits;
  }
  return codes;
}
