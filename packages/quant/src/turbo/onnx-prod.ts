// QJL and TurboQuant_prod inside an ONNX graph (same WebGPU-safe op set as onnx.ts; Less instead of a
// sign op, because Sign does not run on WebGPU). QJL: γ = ‖r‖, bit = 1 - [S r < 0] (sign(0) = +1 as in
// the TS path), r̂ = (√(π/2)/d)·γ·Sᵀ(2·bit - 1). Prod: MSE stage at b-1 bits, QJL on the residual.
import type { GraphBuilder, Value } from '@kvbench/onnx';
import { DTYPES, tensor } from '@kvbench/onnx';
import { emitTurboMseDecode, emitTurboMseEncode } from './onnx';
import type { Qjl } from './qjl';
import type { TurboQuantProd } from './turbo-prod';

export interface QjlEncoded {
  /** γ = ‖r‖, [..., 1] float32. */
  gamma: Value;
  /** 1 where S r >= 0, else 0; [..., d] uint8. */
  signs: Value;
}

function projection(g: GraphBuilder, qjl: Qjl, transposed: boolean): Value {
  const d = qjl.dim;
  const values = new Array<number>(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) values[transposed ? j * d + i : i * d + j] = qjl.projection[i * d + j];
  return g.initializer(g.fresh(`qjl_${qjl.seed}_${d}_${transposed ? 'St' : 'S'}`), tensor('float32', [d, d], values));
}

export function emitQjlEncode(g: GraphBuilder, r: Value, qjl: Qjl, names: { gamma?: string; signs?: string } = {}): QjlEncoded {
  const gamma = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [r, r]), g.ints([-1])], { keepdims: 1 })], {}, names.gamma ? { names: [names.gamma] } : {});
  const projected = g.op('MatMul', [r, projection(g, qjl, true)]); // (S r) as rows: r·Sᵀ
  const negative = g.op('Cast', [g.op('Less', [projected, g.scalar('float32', 0)])], { to: DTYPES.float32 });
  const bit = g.op('Sub', [g.scalar('float32', 1), negative]);
  const signs = g.op('Cast', [bit], { to: DTYPES.uint8 }, names.signs ? { names: [names.signs] } : {});
  return { gamma, signs };
}

/** r̂ = (√(π/2)/d)·γ·Sᵀz with z = 2·bit - 1; zero when γ = 0. */
export function emitQjlDecode(g: GraphBuilder, signs: Value, gamma: Value, qjl: Qjl, name?: string): Value {
  const bit = g.op('Cast', [signs], { to: DTYPES.float32 });
  const z = g.op('Sub', [g.op('Mul', [bit, g.scalar('float32', 2)]), g.scalar('float32', 1)]);
  const direction = g.op('MatMul', [z, projection(g, qjl, false)]); // Sᵀz as rows: z·S
  const scale = g.op('Mul', [gamma, g.scalar('float32', qjl.scale)]);
  return g.op('Mul', [direction, scale], {}, name ? { names: [name] } : {});
}

export interface TurboProdEncoded {
  /** Absent at b = 1 (pure QJL). */
  norm: Value | null;
  codes: Value | null;
  gamma: Value;
  signs: Value;
}

export function emitTurboProdEncode(
  g: GraphBuilder,
  x: Value,
  q: TurboQuantProd,
  names: { norm?: string; codes?: string; gamma?: string; signs?: string } = {},
): TurboProdEncoded {
  if (!q.mse) {
    const { gamma, signs } = emitQjlEncode(g, x, q.qjl, names);
    return { norm: null, codes: null, gamma, signs };
  }
  const { norm, codes } = emitTurboMseEncode(g, x, q.mse, names);
  const approx = emitTurboMseDecode(g, codes, norm, q.mse);
  const { gamma, signs } = emitQjlEncode(g, g.op('Sub', [x, approx]), q.qjl, names);
  return { norm, codes, gamma, signs };
}

export function emitTurboProdDecode(g: GraphBuilder, encoded: TurboProdEncoded, q: TurboQuantProd, name?: string): Value {
  const correction = emitQjlDecode(g, encoded.signs, encoded.gamma, q.qjl, q.mse ? undefined : name);
  if (!q.mse) return correction;
  if (!encoded.codes || !encoded.norm) throw new Error('emitTurboProdDecode: codes and norm are required when bits > 1');
  const base = emitTurboMseDecode(g, encoded.codes, encoded.norm, q.mse);
  return g.op('Add', [base, correction], {}, name ? { names: [name] } : {});
}
