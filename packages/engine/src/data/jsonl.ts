// JSON Lines reading with errors that name the file and the line.
import { DataFormatError } from './types';

export interface JsonLine {
  line: number;
  value: Record<string, unknown>;
}

export function parseJsonl(text: string, file: string): JsonLine[] {
  const out: JsonLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw.length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new DataFormatError(file, i + 1, `invalid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DataFormatError(file, i + 1, 'each line must be a JSON object');
    }
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  if (out.length === 0) throw new DataFormatError(file, null, 'no items (empty file)');
  return out;
}

/** Reads field `path` (dot-separated) of a line's object as a string, or throws naming file, line and field. */
export function stringField(entry: JsonLine, path: string, file: string): string {
  const value = field(entry, path, file);
  if (typeof value !== 'string') throw new DataFormatError(file, entry.line, `field "${path}" must be a string, got ${describe(value)}`);
  return value;
}

export function field(entry: JsonLine, path: string, file: string): unknown {
  let value: unknown = entry.value;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) {
      throw new DataFormatError(file, entry.line, `missing field "${path}"`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value) : typeof value;
}
