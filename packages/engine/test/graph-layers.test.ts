// The decoder's building blocks on their own: transposed weights, stacked projections, one-node RMSNorm
// and the MatMul linear, each run on ORT's CPU provider against a float64 computation on fresh random inputs.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel, SubgraphAttr } from '@kvbench/onnx';
import { Layers } from '../src/graph/layers';
import { transposedFloatTensor } from '../src/graph/precision';
import { prefillPartsFor } from '../src/graph/split-k';
import { stackRows } from '../src/graph/stack-rows';
import { providerSessionOptions } from '../src/runtime/providers';

function randomArray(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * scale);
}

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(g).model, { executionProviders: ['cpu'] });
  try {
    const out = await session.run(feeds);
    return out.y.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** x W^T + b in float64 for x [T, in], W [out, in] (out = b.length). */
function affine(x: Float32Array, w: Float32Array, b: Float32Array, T: number): Float64Array {
  const [inDim, outDim] = [x.length / T, b.length];
  const y = new Float64Array(T * outDim);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[t * inDim + i] * w[o * inDim + i];
      y[t * outDim + o] = s;
    }
  }
  return y;
}

/** max |a - b| / max |b| */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    expect(Number.isFinite(a[i])).toBe(true);
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

describe('graph building blocks', () => {
  it('transposedFloatTensor stores [rows, cols] as [cols, rows] (float32 exactly, float16 as the rounded values)', () => {
    const [rows, cols] = [70, 131]; // not multiples of the 64-wide blocks
    const values = randomArray(rows * cols);
    const t32 = transposedFloatTensor('float32', [rows, cols], values);
    expect(t32.dims).toEqual([cols, rows]);
    const bytes = t32.data as Uint8Array; // TensorData holds raw little-endian bytes
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expect(data[c * rows + r]).toBe(values[r * cols + c]);
    const t16 = transposedFloatTensor('float16', [rows, cols], values);
    expect(t16.dims).toEqual([cols, rows]);
    const raw = t16.data as Uint8Array;
    const halves = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
    const sign = (h: number) => (h & 0x8000 ? -1 : 1);
    for (let r = 0; r < rows; r += 7) for (let c = 0; c < cols; c += 5) expect(sign(halves[c * rows + r])).toBe(Math.sign(values[r * cols + c]) || 1);
    // The fp16 bytes are cached per source array: a second graph of the same weights reuses them.
    expect(transposedFloatTensor('float16', [rows, cols], values).data).toBe(t16.data);
    expect(() => transposedFloatTensor('float32', [rows, cols + 1], values)).toThrow(/values for/);
  });

  it('stackRows puts the parts one after another', () => {
    const a = randomArray(6);
    const b = randomArray(4);
    const stacked = stackRows([a, b]);
    expect(Array.from(stacked)).toEqual([...a, ...b]);
  });

  it('linear (MatMul on the transposed weight, plus bias) equals x W^T + b in float64', async () => {
    const [T, inDim, outDim] = [3, 48, 40];
    const x = randomArray(T * inDim);
    const w = randomArray(outDim * inDim, 0.3);
    const b = randomArray(outDim);
    const g = new GraphBuilder('linear');
    const nn = new Layers(g, 'float32');
    const y = nn.linear(g.input('x', 'float32', [T, inDim]), nn.transposedWeight('w', [outDim, inDim], w), nn.weight('b', [outDim], b));
    g.output(y, 'y', 'float32', [T, outDim]);
    const got = await run(g, { x: new ort.Tensor('float32', x, [T, inDim]) });
    expect(relError(got, affine(x, w, b, T))).toBeLessThan(1e-6);
  });

  it('split-K projections equal x W^T + b in float64: an If between the split product (partial products + a ones-row MatMul) for one token and one MatMul for several, over one [in / chunk, chunk, out] weight', async () => {
    const [inDim, outDim, chunk] = [48, 40, 8];
    const w = randomArray(outDim * inDim, 0.3);
    const b = randomArray(outDim);
    const want = (x: Float32Array, T: number) => affine(x, w, b, T);
    const build = (rows: 'any' | 'one' = 'any', c = chunk, prefillTerms = 0) => {
      const g = new GraphBuilder('split-k');
      const nn = new Layers(g, 'float32', { bits: 16 }, { chunk: c, oneToken: g.input('one_token', 'bool', []), prefillTerms });
      const y = nn.denseProjection(g.input('x', 'float32', ['T', inDim]), 'w', [outDim, inDim], w, nn.weight('b', [outDim], b), rows);
      const ops = g.nodes.map((n) => n.opType);
      g.output(y, 'y', 'float32', ['T', outDim]);
      return { g, ops };
    };
    const feeds = (x: Float32Array, T: number) => ({ x: new ort.Tensor('float32', x, [T, inDim]), one_token: new ort.Tensor('bool', [T === 1], []) });
    const projection = build();
    expect(projection.ops).toEqual(['If', 'Add']);
    expect(projection.g.initializers.get('w')!.dims).toEqual([inDim / chunk, chunk, outDim]);
    for (const T of [1, 3]) {
      const x = randomArray(T * inDim);
      expect(relError(await run(projection.g, feeds(x, T)), want(x, T))).toBeLessThan(1e-6);
    }

    // rows 'one' (the lm head: one row in every run) takes the split product without an If; an input
    // width that is not a multiple of the chunk keeps one MatMul on [in, out].
    const one = build('one');
    expect(one.ops).toEqual(['Reshape', 'MatMul', 'Reshape', 'MatMul', 'Add']);
    const x1 = randomArray(inDim);
    expect(relError(await run(one.g, feeds(x1, 1)), want(x1, 1))).toBeLessThan(1e-6);
    const odd = build('any', 7);
    expect(odd.ops).toEqual(['MatMul', 'Add']);
    expect(odd.g.initializers.get('w')!.dims).toEqual([inDim, outDim]);

    // Prefill in partial products of about `terms` terms, rounded down to a divisor of the chunk count
    // (so the weight is a view): 48 / 12 = 4 of c = 6 gives 3; 2048 / 256 = 8 of 16; 14336 / 256 = 56 of
    // 112; 0 terms = one MatMul. Several rows and one row both equal the float64 product.
    expect([prefillPartsFor(6, 48, 12), prefillPartsFor(16, 2048, 256), prefillPartsFor(112, 14336, 256), prefillPartsFor(2, 256, 256), prefillPartsFor(16, 2048, 0)]).toEqual([3, 8, 56, 1, 1]);
    const parts = build('any', chunk, 12);
    expect(parts.ops).toEqual(['If', 'Add']);
    const prefillBranch = (parts.g.nodes[0].attributes.else_branch as SubgraphAttr).graph.nodes.map((n) => n.opType);
    expect(prefillBranch).toEqual(['Reshape', 'Transpose', 'Reshape', 'MatMul', 'ReduceSum']);
    for (const T of [1, 5]) {
      const x = randomArray(T * inDim);
      expect(relError(await run(parts.g, feeds(x, T)), want(x, T))).toBeLessThan(1e-6);
    }
  });

  it('rmsNorm (one SimplifiedLayerNormalization) equals x / sqrt(mean(x^2) + eps) * weight in float64, over the last axis of 2-D and 3-D inputs', async () => {
    for (const dims of [[5, 64], [3, 4, 16]]) {
      const n = dims[dims.length - 1];
      const rows = dims.reduce((a, d) => a * d, 1) / n;
      const x = randomArray(rows * n, 3);
      const weight = randomArray(n);
      const eps = 1e-5;
      const g = new GraphBuilder('rmsnorm');
      const nn = new Layers(g, 'float32');
      g.output(nn.rmsNorm(g.input('x', 'float32', dims), nn.weight('w', [n], weight), eps), 'y', 'float32', dims);
      const got = await run(g, { x: new ort.Tensor('float32', x, dims) });
      const want = new Float64Array(rows * n);
      for (let r = 0; r < rows; r++) {
        let ms = 0;
        for (let i = 0; i < n; i++) ms += x[r * n + i] ** 2;
        const inv = 1 / Math.sqrt(ms / n + eps);
        for (let i = 0; i < n; i++) want[r * n + i] = x[r * n + i] * inv * weight[i];
      }
      expect(relError(got, want)).toBeLessThan(1e-6);
    }
  });
});

describe('providerSessionOptions', () => {
  it('runs on the named provider alone, keeps its options object, and forbids CPU fallback on GPUs', () => {
    const webgpu = providerSessionOptions('webgpu', {
      executionProviders: ['cpu', { name: 'webgpu', validationMode: 'disabled' } as never],
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    expect(webgpu.executionProviders).toEqual([{ name: 'webgpu', validationMode: 'disabled' }]);
    expect(webgpu.extra).toEqual({ session: { intra_op: { allow_spinning: '0' }, disable_cpu_ep_fallback: '1' } });
    const cpu = providerSessionOptions('cpu', { executionProviders: [{ name: 'webgpu', validationMode: 'disabled' } as never] });
    expect(cpu.executionProviders).toEqual(['cpu']);
    expect(cpu.extra).toBeUndefined();
    expect(() => providerSessionOptions('tpu' as never)).toThrow(/provider: got "tpu"/);
  });
});
