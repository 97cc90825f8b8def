// Flag parsing on node's util.parseArgs, with errors that name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${flag}: got ${JSON.stringify(v)}, expected an integer`);
  return n;
}

export function intList(flag: string, v: string | undefined): number[] | undefined {
  return v === undefined ? undefined : v.split(',').map((x) => int(flag, x.trim())!);
}

export function strList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean);
}

/** "K4V2" -> [4, 2] */
export function bitsPair(flag: string, v: string): [number, number] {
  const m = /^K(\d+)V(\d+)$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${flag}: got ${JSON.stringify(v)}, expected a label like K4V2 (K16V16 = full precision)`);
  return [Number(m[1]), Number(m[2])];
}

/** Drops undefined members so the server applies its defaults. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
