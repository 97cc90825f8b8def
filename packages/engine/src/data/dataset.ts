// Resolves a bundled name or a user file to parsed items plus provenance (path, format, sha256).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DataFormat } from '../evaluation';
import { parseArc } from './arc';
import { BUNDLED_BENCHMARKS, BUNDLED_DATA_DIR, bundledBenchmark } from './bundled';
import { splitDocuments } from './documents';
import { parseGsm8k } from './gsm8k';
import { parseHellaswag } from './hellaswag';
import { parseMcJsonl } from './mc-jsonl';
import { DataFormatError, type Dataset } from './types';

export const DATA_FORMATS: readonly DataFormat[] = ['text', 'gsm8k', 'hellaswag', 'arc', 'mc-jsonl'];

export interface LoadedDataset {
  /** The bundled name, or the file's path as given. */
  name: string;
  path: string;
  format: DataFormat;
  /** sha256 of the file's bytes. */
  dataHash: string;
  data: Dataset;
}

export function parseDataset(text: string, format: DataFormat, file: string): Dataset {
  switch (format) {
    case 'text': {
      const documents = splitDocuments(text);
      if (documents.length === 0) throw new DataFormatError(file, null, 'no documents (the file is empty or blank)');
      return { kind: 'text', documents };
    }
    case 'gsm8k':
      return { kind: 'generation', items: parseGsm8k(text, file) };
    case 'hellaswag':
      return { kind: 'multiple-choice', items: parseHellaswag(text, file) };
    case 'arc':
      return { kind: 'multiple-choice', items: parseArc(text, file) };
    case 'mc-jsonl':
      return { kind: 'multiple-choice', items: parseMcJsonl(text, file) };
    default:
      throw new Error(`format: got ${JSON.stringify(format)}, allowed: ${DATA_FORMATS.join(', ')}`);
  }
}

/**
 * `data` is a bundled name (tinystories, wikitext2, gsm8k, hellaswag, arc-easy) or a file path; a path
 * needs `format`. A given format for a bundled name must match its own.
 */
export function loadDataset(data: string, format?: DataFormat): LoadedDataset {
  const bundled = bundledBenchmark(data);
  let path: string;
  let resolvedFormat: DataFormat;
  if (bundled) {
    if (format !== undefined && format !== bundled.format) {
      throw new Error(`format: bundled benchmark "${bundled.name}" is ${bundled.format}, got ${JSON.stringify(format)}`);
    }
    path = join(BUNDLED_DATA_DIR, bundled.file);
    resolvedFormat = bundled.format;
  } else {
    if (format === undefined) {
      throw new Error(
        `data: "${data}" is not a bundled benchmark (${BUNDLED_BENCHMARKS.map((b) => b.name).join(', ')}); ` +
          `a file needs format (${DATA_FORMATS.join(', ')})`,
      );
    }
    if (!DATA_FORMATS.includes(format)) throw new Error(`format: got ${JSON.stringify(format)}, allowed: ${DATA_FORMATS.join(', ')}`);
    path = resolve(data);
    resolvedFormat = format;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`data: cannot read ${path}: ${(error as Error).message}`);
  }
  const dataHash = createHash('sha256').update(bytes).digest('hex');
  const parsed = parseDataset(bytes.toString('utf8'), resolvedFormat, path);
  return { name: bundled ? bundled.name : data, path, format: resolvedFormat, dataHash, data: parsed };
}
