// The packed history's dequantization on a provider, in float16 arithmetic (historyArithmetic 'compute',
// the GPU default) and in float32 (rounded once): one emitted unpack + dequantize graph on fresh
// K-like values, against the float64 dequantization of the same codes and metadata (quant's dequantize()).
// A part of the consistency run (bench/gpu/consistency.ts --sections arithmetic).
import * as ort from 'onnxruntime-node';
import { encodeModel, GraphBuilder } from '@kvbench/onnx';
import { dequantize, emitUnpackDequantize, metaForBoundary, quantize, quantizedFormat, roundFp16, type QuantizerConfig } from '@kvbench/quant';
import { providerSessionOptions, type ExecutionProvider } from '@kvbench/engine';
import { halfToFloat } from '../../packages/engine/src/model/dtype';

export interface DequantCheck {
  /** Largest |y - exact| in units of two float16 roundings (<= 1: within them). */
  worstInBounds: number;
  /** Largest |y - exact| over the group's range (scale x (2^b - 1)). */
  worstOfRange: number;
  /** Elements whose value differs between the two arithmetics. */
  differing: number;
  elements: number;
}

/** Gaussian values with a few outliers, rounded to float16 (as a float16 graph's keys are). */
function kvLike(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    x[i] = roundFp16(uniform() < 0.01 ? 8 * z : z);
  }
  return x;
}

/** Dequantizes [1, heads, tokens, headDim] codes of `cfg` (per-token, fp16 metadata) on `provider` both ways. */
export async function checkDequantArithmetic(provider: ExecutionProvider, cfg: QuantizerConfig, shape: [number, number, number, number], seed: number): Promise<DequantCheck> {
  const [, heads, tokens, headDim] = shape;
  const x = kvLike(heads * tokens * headDim, seed);
  const q = quantize(x, shape, cfg);
  const exact = dequantize(q);
  const fmt = quantizedFormat(cfg, { batch: 1, heads, seq: tokens, headDim });
  const feeds = {
    codes: new ort.Tensor('uint8', q.codes, fmt.codes.shape as number[]),
    scales: new ort.Tensor('float16', metaForBoundary(q.scales, 'fp16') as Uint16Array, fmt.scales.shape as number[]),
    zeros: new ort.Tensor('float16', metaForBoundary(q.zeros, 'fp16') as Uint16Array, fmt.zeros.shape as number[]),
  };
  const run = async (arithmetic: 'compute' | 'float32') => {
    const g = new GraphBuilder(`dequant-${arithmetic}`);
    const parts = (['codes', 'scales', 'zeros'] as const).map((p) => g.input(p, fmt[p].dtype, fmt[p].shape));
    const y = emitUnpackDequantize(g, { codes: parts[0], scales: parts[1], zeros: parts[2] }, cfg, { headDim, batch: 1, heads, computeDtype: 'float16', unpack: 'table', arithmetic });
    g.output(y, 'y', 'float16', [1, heads, tokens, headDim]);
    const session = await ort.InferenceSession.create(encodeModel(g, { opset: 21 }).model, providerSessionOptions(provider) as ort.InferenceSession.SessionOptions);
    try {
      const out = await session.run(feeds);
      return Float32Array.from(out.y.data as Uint16Array, halfToFloat);
    } finally {
      await session.release();
    }
  };
  const half = await run('compute');
  const single = await run('float32');
  const levels = 2 ** cfg.bits - 1;
  let worstInBounds = 0;
  let worstOfRange = 0;
  let differing = 0;
  for (let i = 0; i < exact.length; i++) {
    const range = Math.abs(q.scales[Math.floor(i / cfg.groupSize)]) * levels;
    const err = Math.abs(half[i] - exact[i]);
    worstInBounds = Math.max(worstInBounds, Number.isFinite(err) ? err / (2 ** -10 * (Math.abs(exact[i]) + range) + 2 ** -24) : Infinity);
    worstOfRange = Math.max(worstOfRange, range > 0 ? err / range : err);
    if (half[i] !== single[i]) differing++;
  }
  return { worstInBounds, worstOfRange, differing, elements: exact.length };
}
