// A small safetensors reader and writer. Format: u64 LE header length N, N bytes of JSON
// { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {...} }, then the data block
// (offsets are relative to its start). The reader validates the header fully before any tensor is read
// and reads tensors on demand, so multi-GB shards are never held in memory whole.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { StorageDtype } from './dtype';
import { DTYPE_BYTES, decodeToFloat32 } from './dtype';

export interface TensorInfo {
  name: string;
  dtype: StorageDtype;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024; // same bound as the reference implementation

function readExactly(fd: number, length: number, position: number, file: string, what: string): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw new Error(`${file}: unexpected end of file while reading ${what}`);
    done += n;
  }
  return buffer;
}

export class SafetensorsFile {
  readonly path: string;
  readonly tensors = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string>;
  readonly fileSize: number;

  /** Opens and validates `path`'s header; throws naming the file (and tensor) on any inconsistency. */
  constructor(path: string) {
    this.path = path;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new Error(`${path}: cannot open safetensors file: ${(error as Error).message}`);
    }
    try {
      this.fileSize = fstatSync(fd).size;
      if (this.fileSize < 8) throw new Error(`${path}: truncated safetensors file (${this.fileSize} bytes, no header length)`);
      const headerLength = Number(readExactly(fd, 8, 0, path, 'header length').readBigUInt64LE(0));
      if (headerLength > MAX_HEADER_BYTES) throw new Error(`${path}: safetensors header length ${headerLength} is implausibly large`);
      if (8 + headerLength > this.fileSize) {
        throw new Error(`${path}: safetensors header (${headerLength} bytes) runs past end of file (${this.fileSize} bytes)`);
      }
      const headerText = readExactly(fd, headerLength, 8, path, 'header').toString('utf8');
      let header: unknown;
      try {
        header = JSON.parse(headerText);
      } catch (error) {
        throw new Error(`${path}: safetensors header is not valid JSON: ${(error as Error).message}`);
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header)) {
        throw new Error(`${path}: safetensors header is not a JSON object`);
      }
      const dataStart = 8 + headerLength;
      const dataBytes = this.fileSize - dataStart;
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
        if (name === '__metadata__') {
          metadata = (raw ?? {}) as Record<string, string>;
          continue;
        }
        this.tensors.set(name, this.validateEntry(name, raw, dataStart, dataBytes));
      }
      this.metadata = metadata;
    } finally {
      closeSync(fd);
    }
  }

  private validateEntry(name: string, raw: unknown, dataStart: number, dataBytes: number): TensorInfo {
    const where = `${this.path}: tensor ${name}`;
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof entry !== 'object' || entry === null) throw new Error(`${where}: header entry is not an object`);
    const dtype = entry.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      throw new Error(`${where}: dtype ${JSON.stringify(dtype)} is unknown or unsupported (supported: F32, F16, BF16)`);
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new Error(`${where}: data_offsets ${JSON.stringify(offsets)} is not a [begin, end] pair`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype as StorageDtype];
    if (end < begin || end - begin !== expected) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${expected}`);
    }
    if (end > dataBytes) {
      throw new Error(`${where}: data [${begin}, ${end}) runs past end of file (data block is ${dataBytes} bytes; truncated?)`);
    }
    return { name, dtype: dtype as StorageDtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`${this.path}: missing tensor ${name}`);
    return info;
  }

  /** Reads one tensor's stored bytes unconverted (for consumers that keep fp16/bf16 weights as they are). */
  readRaw(name: string): { info: TensorInfo; bytes: Uint8Array } {
    const info = this.info(name);
    const fd = openSync(this.path, 'r');
    try {
      return { info, bytes: readExactly(fd, info.end - info.begin, info.begin, this.path, `tensor ${name}`) };
    } finally {
      closeSync(fd);
    }
  }

  /** Reads one tensor as float32 (converting F16 / BF16). */
  readFloat32(name: string): Float32Array {
    const { info, bytes } = this.readRaw(name);
    return decodeToFloat32(bytes, info.dtype);
  }
}

export interface TensorToWrite {
  name: string;
  dtype: StorageDtype;
  shape: number[];
  /** Produces the tensor's little-endian bytes when it is its turn to be written. */
  bytes: () => Uint8Array;
}

/**
 * Writes a safetensors file, producing each tensor's bytes only when it is written (so a generator can
 * emit tensors larger than memory would comfortably hold all at once). Returns the file size.
 */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = {}): number {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8); // align the data block to 8 bytes
  const headerBytes = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, headerBytes);
    for (const t of tensors) {
      const bytes = t.bytes();
      const size = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (bytes.byteLength !== size) throw new Error(`${path}: tensor ${t.name} produced ${bytes.byteLength} bytes, expected ${size}`);
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    }
  } finally {
    closeSync(fd);
  }
  return 8 + headerBytes.byteLength + offset;
}
