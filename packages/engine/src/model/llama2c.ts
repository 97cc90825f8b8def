// Loader for llama2.c "legacy" checkpoints (the bundled stories260K). Format: see assets/stories260k/SOURCE.txt.
// Header 7 x int32 LE, then float32 tensors stacked over layers, each matrix row-major [out, in].
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { LayerWeights, LoadedModel, ModelConfig, ModelWeights } from './config';
import { validateModelConfig } from './config';
import { weightsHash } from './hash';

const HEADER_INTS = 7;
const HEADER_BYTES = HEADER_INTS * 4;

/** Config implied by a llama2.c header; the format fixes the rest (eps 1e-5, theta 10000, interleaved RoPE). */
export function llama2cConfig(header: Int32Array): ModelConfig {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSigned, seqLen] = header;
  return {
    architecture: 'llama2c',
    layers: nLayers,
    hiddenSize: dim,
    intermediateSize: hiddenDim,
    heads: nHeads,
    kvHeads: nKvHeads,
    headDim: nHeads > 0 ? dim / nHeads : 0,
    vocabSize: Math.abs(vocabSigned),
    maxPositions: seqLen,
    ropeTheta: 10000,
    ropeScaling: null,
    ropePairing: 'interleaved',
    rmsEps: 1e-5,
    qkNorm: false,
    attentionBias: false,
    // A negative vocab size in the header means an unshared classifier follows the RoPE tables.
    tiedEmbeddings: vocabSigned > 0,
    slidingWindow: null,
    bosId: 1,
    eosId: 2,
    eosIds: [2],
  };
}

/** The config of a llama2.c checkpoint from its header alone (no weights read). */
export function readLlama2cConfig(path: string): ModelConfig {
  const header = new Int32Array(HEADER_INTS);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, new Uint8Array(header.buffer), 0, HEADER_BYTES, 0);
    if (read < HEADER_BYTES) throw new Error(`${path}: truncated llama2.c checkpoint (${read} bytes, header needs ${HEADER_BYTES})`);
  } finally {
    closeSync(fd);
  }
  const config = llama2cConfig(header);
  validateModelConfig(config, path);
  return config;
}

/** Parses a llama2.c checkpoint held in memory; `file` names it in errors. */
export function parseLlama2c(bytes: Uint8Array, file: string): { config: ModelConfig; weights: ModelWeights } {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new Error(`${file}: truncated llama2.c checkpoint (${bytes.byteLength} bytes, header needs ${HEADER_BYTES})`);
  }
  const header = new Int32Array(bytes.slice(0, HEADER_BYTES).buffer);
  const config = llama2cConfig(header);
  if (config.heads > 0 && config.hiddenSize % config.heads !== 0) {
    throw new Error(`${file}: dim ${config.hiddenSize} is not a multiple of n_heads ${config.heads}`);
  }
  validateModelConfig(config, file);

  const { layers: L, hiddenSize: dim, intermediateSize: hidden, vocabSize: vocab, headDim, maxPositions } = config;
  const q = config.heads * headDim;
  const kv = config.kvHeads * headDim;
  const floatsPerLayer = { attnNorm: dim, wq: q * dim, wk: kv * dim, wv: kv * dim, wo: dim * q, mlpNorm: dim,
    w1: hidden * dim, w2: dim * hidden, w3: hidden * dim };
  const totalFloats =
    vocab * dim +
    L * (floatsPerLayer.attnNorm + floatsPerLayer.wq + floatsPerLayer.wk + floatsPerLayer.wv + floatsPerLayer.wo) +
    L * (floatsPerLayer.mlpNorm + floatsPerLayer.w1 + floatsPerLayer.w2 + floatsPerLayer.w3) +
    dim +
    maxPositions * headDim + // freq_cis_real + freq_cis_imag, [seq_len, head/2] each
    (config.tiedEmbeddings ? 0 : vocab * dim);
  const expectedBytes = HEADER_BYTES + totalFloats * 4;
  if (bytes.byteLength !== expectedBytes) {
    throw new Error(
      `${file}: llama2.c checkpoint is ${bytes.byteLength} bytes but its header ` +
        `(dim ${dim}, hidden ${hidden}, layers ${L}, heads ${config.heads}, kv heads ${config.kvHeads}, ` +
        `vocab ${vocab}, seq_len ${maxPositions}) implies ${expectedBytes}` +
        (bytes.byteLength < expectedBytes ? ' (truncated)' : ''),
    );
  }

  // Copy once into an aligned buffer; every tensor is then a view into it. Shared memory, so the float64
  // reference's helper threads read the weights in place (reference/matmul-threads.ts).
  const floats = new Float32Array(new SharedArrayBuffer(totalFloats * 4));
  new Uint8Array(floats.buffer).set(bytes.subarray(HEADER_BYTES));
  let offset = 0;
  const take = (n: number): Float32Array => {
    const view = floats.subarray(offset, offset + n);
    offset += n;
    return view;
  };
  const stacked = (perLayer: number): Float32Array[] => {
    const all = take(L * perLayer);
    return Array.from({ length: L }, (_, l) => all.subarray(l * perLayer, (l + 1) * perLayer));
  };

  const embed = take(vocab * dim);
  const attnNorm = stacked(floatsPerLayer.attnNorm);
  const wq = stacked(floatsPerLayer.wq);
  const wk = stacked(floatsPerLayer.wk);
  const wv = stacked(floatsPerLayer.wv);
  const wo = stacked(floatsPerLayer.wo);
  const mlpNorm = stacked(floatsPerLayer.mlpNorm);
  const w1 = stacked(floatsPerLayer.w1);
  const w2 = stacked(floatsPerLayer.w2);
  const w3 = stacked(floatsPerLayer.w3);
  const finalNorm = take(dim);
  take(maxPositions * headDim); // legacy RoPE tables: recomputed from theta instead
  const lmHead = config.tiedEmbeddings ? embed : take(vocab * dim);

  const layers: LayerWeights[] = Array.from({ length: L }, (_, l) => ({
    attnNorm: attnNorm[l],
    wq: wq[l],
    wk: wk[l],
    wv: wv[l],
    wo: wo[l],
    mlpNorm: mlpNorm[l],
    // llama2.c: hidden = silu(w1 x) * (w3 x); out = w2 hidden.
    wGate: w1[l],
    wUp: w3[l],
    wDown: w2[l],
  }));
  return { config, weights: { embed, layers, finalNorm, lmHead } };
}

export function loadLlama2c(path: string, spec: string = path): LoadedModel {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    throw new Error(`${absolute}: cannot read llama2.c checkpoint: ${(error as Error).message}`);
  }
  const { config, weights } = parseLlama2c(bytes, absolute);
  return {
    config,
    weights,
    provenance: {
      spec,
      format: 'llama2c',
      path: absolute,
      weightsSha256: weightsHash([{ name: basename(absolute), path: absolute }]),
      files: [basename(absolute)],
      storedDtype: 'F32',
    },
  };
}
