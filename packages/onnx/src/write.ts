import { mkdir, open, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { GraphBuilder } from './graph';
import type { ModelOptions } from './model';
import { encodeModel } from './model';

/**
 * Writes `graph` to `path`; with `externalData` the large initializers go to `<path>.data`
 * (required above 2 GB). Returns the files written.
 */
export async function writeModel(path: string, graph: GraphBuilder, options: ModelOptions = {}): Promise<string[]> {
  await mkdir(dirname(path), { recursive: true });
  const { model, externalData } = encodeModel(graph, options);
  await writeFile(path, model);
  if (!externalData.length) return [path];
  const dataPath = join(dirname(path), options.externalData!.location);
  const fh = await open(dataPath, 'w');
  try {
    for (const chunk of externalData) await fh.write(chunk);
  } finally {
    await fh.close();
  }
  return [path, dataPath];
}

/** The conventional external-data file name for a model file. */
export const externalDataName = (modelPath: string) => `${basename(modelPath)}.data`;
