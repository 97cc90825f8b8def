// Building a decoder graph for a large model takes seconds, so encoded graphs are kept per
// (model, graph key) in memory and, when a cache directory is given, on disk. Graphs above protobuf's
// 2 GB limit go to disk with external data and the session loads them by path.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { encodeModel, writeModel, type GraphBuilder, type ModelOptions } from '@kvbench/onnx';

/** Model bytes, or a path when the weights live in an external data file. */
export type EncodedGraph = Uint8Array | string;

const OPSET = 21;
const EXTERNAL_DATA_ABOVE = 1.5 * 1024 ** 3;
const memory = new Map<string, Promise<EncodedGraph>>();
const MEMORY_ENTRIES = 8;

function initializerBytes(g: GraphBuilder): number {
  let n = 0;
  for (const t of g.initializers.values()) n += t.data.byteLength;
  return n;
}

export interface GraphCacheOptions {
  /** Directory for graphs on disk; graphs too large for memory encoding go to a temp dir without it. */
  cacheDir?: string;
  /** Weights above this many bytes go to an external data file (default 1.5 GiB, under protobuf's 2 GB). */
  externalDataAbove?: number;
}

/**
 * Returns the encoded graph for `key`, building it with `build` on a miss. `key` must identify the
 * model weights and everything the graph depends on.
 */
export function cachedGraph(key: string, build: () => GraphBuilder, options: GraphCacheOptions = {}): Promise<EncodedGraph> {
  const hit = memory.get(key);
  if (hit) return hit;
  const pending = encode(key, build, options);
  memory.set(key, pending);
  pending.catch(() => memory.delete(key));
  while (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value as string);
  return pending;
}

async function encode(key: string, build: () => GraphBuilder, options: GraphCacheOptions): Promise<EncodedGraph> {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 32);
  const dir = options.cacheDir;
  const file = dir ? join(dir, `${digest}.onnx`) : null;
  if (file && existsSync(file)) {
    return existsSync(`${file}.data`) ? file : new Uint8Array(await readFile(file));
  }
  const graph = build();
  const modelOptions: ModelOptions = { opset: OPSET };
  // Contrib ops (MatMulNBits for 4-bit weights) need their domain imported.
  if (graph.nodes.some((n) => n.domain === 'com.microsoft')) modelOptions.domains = { 'com.microsoft': 1 };
  if (initializerBytes(graph) > (options.externalDataAbove ?? EXTERNAL_DATA_ABOVE)) {
    const target = file ?? join(tmpdir(), `kvbench-graph-${digest}`, 'model.onnx');
    await writeAtomically(target, graph, { ...modelOptions, externalData: { location: `${basename(target)}.data`, minBytes: 1024 } });
    return target;
  }
  const bytes = encodeModel(graph, modelOptions).model;
  if (file) await writeAtomically(file, graph, modelOptions);
  return bytes;
}

async function writeAtomically(path: string, graph: GraphBuilder, options: ModelOptions): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true });
  const staging = `${path}.tmp-${process.pid}`;
  // External data is referenced by name relative to the model file, so it is written under its final name.
  await writeModel(options.externalData ? path : staging, graph, options);
  if (!options.externalData) {
    await rename(staging, path).catch(async (error) => {
      await rm(staging, { force: true });
      throw error;
    });
  }
}

/** Forgets graphs held in memory (tests, long-running workers switching models). */
export function clearGraphCache(): void {
  memory.clear();
}
