// Provenance hash of weight files. One file: the sha256 of its bytes (so it matches published
// checksums such as SOURCE.txt's). Several files: the sha256 of their `sha256sum`-style listing
// ("<hex>  <name>\n" per file, sorted by name), so sharding metadata order does not matter.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';

const CHUNK_BYTES = 16 * 1024 * 1024;

export function fileSha256(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** `files` maps a display name (relative path) to an absolute path. */
export function weightsHash(files: { name: string; path: string }[]): string {
  if (files.length === 1) return fileSha256(files[0].path);
  const listing = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) => `${fileSha256(f.path)}  ${f.name || basename(f.path)}\n`)
    .join('');
  return createHash('sha256').update(listing).digest('hex');
}
