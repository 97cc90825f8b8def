// Small numerical building blocks for the in-graph quantizer, written with ops that the WebGPU
// provider runs (onnxruntime-node.md, last section): no Round, no bit operators, no Mod, no Slice, and
// no Concat/Slice/Transpose on uint8. Everything here is fp32 unless a name says otherwise.

import type { GraphBuilder, Value } from '@kvbench/onnx';
import type { MetaDtype } from '../config';

/**
 * The ops the emitters may use (headChunks, a CPU-only option, adds Split, Concat on uint8 and Sum).
 * The first group is onnxruntime-node.md's measured WebGPU list; Abs, Pow, Less and And were added after
 * bench/quant/webgpu-check.ts placed every emitted graph wholly on the H100's WebGPU provider
 * (disable_cpu_ep_fallback, 2026-11-22).
 */
export const WEBGPU_OPS: ReadonlySet<string> = new Set([
  'ReduceMin', 'ReduceMax', 'ReduceSum', 'Floor', 'Clip', 'Div', 'Mul', 'Add', 'Sub', 'MatMul', 'Concat',
  'Where', 'Equal', 'Reshape', 'Transpose', 'Gather', 'Expand', 'Cast', 'Identity',
  // HQQ solver and comparisons.
  'Abs', 'Pow', 'Less', 'And',
]);

export const f32 = (g: GraphBuilder, v: number): Value => g.scalar('float32', v);

/** 2^23: adding and subtracting it rounds an fp32 in [0, 2^22] to an integer with the FPU's ties-to-even. */
const RNE_MAGIC_F32 = 8388608;

/**
 * clamp(rne(u), 0, hi) for fp32 u (NaN excluded by the caller). Clamping first is equivalent
 * (rne is monotone and the bounds are integers) and keeps u small enough for the magic-number
 * rounding; two separate nodes, so no runtime can contract them away.
 */
export function emitClampRne(g: GraphBuilder, u: Value, hi: number): Value {
  const clipped = g.op('Clip', [u, f32(g, 0), f32(g, hi)]);
  return g.op('Sub', [g.op('Add', [clipped, f32(g, RNE_MAGIC_F32)]), f32(g, RNE_MAGIC_F32)]);
}

/** Largest finite fp16, where metadata saturates (rounding.ts roundMeta). */
const FP16_MAX = 65504;
/** Veltkamp split constant 2^(24-8) + 1: keeps the top 8 significant bits of an fp32 (bf16 precision). */
const VELTKAMP_BF16 = 65537;

/**
 * Rounds fp32 metadata to `dtype` and back (values stay fp32), as roundMeta does in TypeScript:
 * fp16 via a Cast round trip (saturating at +-65504 first); bf16 via Veltkamp splitting, which rounds
 * to 8 significant bits with ties to even for normal numbers below about 2^110 (bf16 has no Cast on
 * WebGPU, and there is no bitcast op before opset 26). bf16 subnormals (< 2^-126) are not emulated.
 */
export function emitRoundMeta(g: GraphBuilder, v: Value, dtype: MetaDtype): Value {
  if (dtype === 'fp32') return v;
  if (dtype === 'fp16') {
    const sat = g.op('Clip', [v, f32(g, -FP16_MAX), f32(g, FP16_MAX)]);
    return g.op('Cast', [g.op('Cast', [sat], { to: 10 })], { to: 1 });
  }
  const gamma = g.op('Mul', [v, f32(g, VELTKAMP_BF16)]);
  const delta = g.op('Sub', [v, gamma]);
  return g.op('Add', [gamma, delta]);
}

/** fp32 mask as 0/1 of a boolean, through Where (Cast from bool is not on the WebGPU list). */
export function emitBoolToFloat(g: GraphBuilder, b: Value): Value {
  return g.op('Where', [b, f32(g, 1), f32(g, 0)]);
}

/** True where v is finite: v - v is 0 for finite v and NaN for +-Inf and NaN. */
export function emitIsFinite(g: GraphBuilder, v: Value): Value {
  return g.op('Equal', [g.op('Sub', [v, v]), f32(g, 0)]);
}

export const ONNX_FLOAT = 1;
export const ONNX_UINT8 = 2;
export const ONNX_INT32 = 6;
export const ONNX_FLOAT16 = 10;
