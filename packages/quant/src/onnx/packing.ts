// Bit packing inside a graph, arithmetically (no bit operators on WebGPU), producing the bytes of
// packing.ts: each run of 8 codes -> b bytes, code i of the run at stream bits [i*b, i*b+b).
// Two forms of each direction (EmitOptions.pack / .unpack; the bytes are the same):
//
// Pack, 'split': a code that straddles two bytes is split into hi = floor(c / 2^r) (into the next byte,
// at bit 0) and lo = c - hi * 2^r (r = bits left in the first byte); byte_j = sum_i lo_i * WL[i, j] +
// hi_i * WH[i, j] is a MatMul against constant power-of-two matrices. Pack, 'scaled' (default):
// emitPackRunsScaled, floor/mod on the packed size. Every partial sum is exact in fp32 in any order
// (also in TF32 MatMuls, whose inputs here are all 8-bit exact).
//
// Unpack, 'table': word_i = byte_j + 256 * byte_{j+1} (a MatMul; the second byte only where code i
// straddles), then a Gather from a table of floor(word / 2^s) mod 2^b indexed by s * V + word; for
// b in {1, 2, 4} on per-token runs a 256-entry table maps each byte to its 8/b codes. Unpack,
// 'arithmetic' (default): emitUnpackRunsScaled, a MatMul and floor/mod (ORT's CPU Gather is slow).

import type { GraphBuilder, Value } from '@kvbench/onnx';
import { tensor } from '@kvbench/onnx';
import type { RunAxis } from './grouping';
import { f32, ONNX_INT32 } from './ops';

interface PackPlan {
  /** [8, b] weights of the low parts. */
  wl: number[];
  /** [8, b] weights of the high parts (all zero when no code straddles). */
  wh: number[];
  straddles: boolean;
  /** Per code: 2^r for a straddling code, 2^b otherwise (so hi = 0 and lo = c). */
  splitPow: number[];
  /** Per code: byte index j where it starts, and bit offset s inside that byte. */
  startByte: number[];
  startBit: number[];
}

export function packPlan(bits: number): PackPlan {
  const b = bits;
  const wl = new Array<number>(8 * b).fill(0);
  const wh = new Array<number>(8 * b).fill(0);
  const splitPow: number[] = [];
  const startByte: number[] = [];
  const startBit: number[] = [];
  let straddles = false;
  for (let i = 0; i < 8; i++) {
    const p = i * b;
    const j = Math.floor(p / 8);
    const s = p - 8 * j;
    const r = 8 - s; // bits of byte j left for this code
    startByte.push(j);
    startBit.push(s);
    wl[i * b + j] = 2 ** s;
    if (r < b) {
      straddles = true;
      wh[i * b + j + 1] = 1;
      splitPow.push(2 ** r);
    } else splitPow.push(2 ** b);
  }
  return { wl, wh, straddles, splitPow, startByte, startBit };
}

const transposed = (m: number[], rows: number, cols: number): number[] => {
  const out = new Array<number>(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
};

/** MatMul of the runs against a constant [8, n] matrix, along the run axis. */
function runMatMul(g: GraphBuilder, runs: Value, m: number[], n: number, axis: RunAxis): Value {
  if (axis === 'last') return g.op('MatMul', [runs, g.constant('float32', [8, n], m)]);
  return g.op('MatMul', [g.constant('float32', [n, 8], transposed(m, 8, n)), runs]);
}

/** Per-code constant broadcast along the run axis. */
function perCode(g: GraphBuilder, values: number[], axis: RunAxis): Value {
  return g.constant('float32', axis === 'last' ? [8] : [8, 1], values);
}

/**
 * Float codes (integers in [0, 2^b)) whose run axis has 8 entries -> float bytes (integers in [0, 255])
 * whose run axis has b entries.
 */
export function emitPackRuns(g: GraphBuilder, codes: Value, bits: number, axis: RunAxis): Value {
  if (bits === 8) return codes;
  const plan = packPlan(bits);
  if (!plan.straddles) return runMatMul(g, codes, plan.wl, bits, axis);
  const hi = g.op('Floor', [g.op('Div', [codes, perCode(g, plan.splitPow, axis)])]);
  const lo = g.op('Sub', [codes, g.op('Mul', [hi, perCode(g, plan.splitPow, axis)])]);
  return g.op('Add', [runMatMul(g, lo, plan.wl, bits, axis), runMatMul(g, hi, plan.wh, bits, axis)]);
}

// Lookup tables are large for straddling widths (8 * 65536 floats); one per graph and width.
const tables = new WeakMap<GraphBuilder, Map<string, Value>>();

function table(g: GraphBuilder, key: string, build: () => { dims: number[]; values: Float32Array }, dtype: 'float32' | 'float16' = 'float32'): Value {
  let perGraph = tables.get(g);
  if (!perGraph) tables.set(g, (perGraph = new Map()));
  const hit = perGraph.get(`${key}.${dtype}`);
  if (hit) return hit;
  const { dims, values } = build();
  const v = g.initializer(g.fresh(`unpack_table_${key}`), tensor(dtype, dims, dtype === 'float32' ? values : Array.from(values)));
  perGraph.set(`${key}.${dtype}`, v);
  return v;
}

/**
 * Float bytes whose run axis has b entries -> float codes whose run axis has 8 entries.
 */
export function emitUnpackRuns(g: GraphBuilder, bytes: Value, bits: number, axis: RunAxis): Value {
  if (bits === 8) return bytes;
  const b = bits;
  const plan = packPlan(b);
  const V = plan.straddles ? 65536 : 256;
  // word_i = byte_{j_i} + 256 * byte_{j_i + 1} (straddling codes only).
  const pick = new Array<number>(8 * b).fill(0); // [b, 8]
  for (let i = 0; i < 8; i++) {
    pick[plan.startByte[i] * 8 + i] = 1;
    if (plan.splitPow[i] !== 2 ** b) pick[(plan.startByte[i] + 1) * 8 + i] = 256;
  }
  const words =
    axis === 'last'
      ? g.op('MatMul', [bytes, g.constant('float32', [b, 8], pick)])
      : g.op('MatMul', [g.constant('float32', [8, b], transposed(pick, b, 8)), bytes]);
  const offsets = plan.startBit.map((s) => s * V);
  const index = g.op('Cast', [g.op('Add', [words, perCode(g, offsets, axis)])], { to: ONNX_INT32 });
  const lut = table(g, `w${b}`, () => {
    const mod = 2 ** b;
    const values = new Float32Array(8 * V);
    for (let s = 0; s < 8; s++) for (let w = 0; w < V; w++) values[s * V + w] = Math.floor(w / 2 ** s) % mod;
    return { dims: [8 * V], values };
  });
  return g.op('Gather', [lut, index], { axis: 0 });
}

/**
 * For b in {1, 2, 4}: uint8 bytes [..., n] -> float codes [..., n, 8/b] through a [256, 8/b] table
 * (one Cast and one Gather; the cheapest unpack when codes are in flat order). Codes are at most 15,
 * so a float16 table gives them exactly.
 */
export function emitUnpackBytesDirect(g: GraphBuilder, bytes: Value, bits: number, dtype: 'float32' | 'float16' = 'float32'): Value {
  const per = 8 / bits;
  const lut = table(g, `b${bits}`, () => {
    const values = new Float32Array(256 * per);
    for (let v = 0; v < 256; v++) for (let i = 0; i < per; i++) values[v * per + i] = Math.floor(v / 2 ** (i * bits)) % 2 ** bits;
    return { dims: [256, per], values };
  }, dtype);
  return g.op('Gather', [lut, g.op('Cast', [bytes], { to: ONNX_INT32 })], { axis: 0 });
}

/** True when a [256, 8/b] byte table applies (b divides 8 and is below 8). */
export const hasDirectByteTable = (bits: number) => bits === 1 || bits === 2 || bits === 4;


/**
 * Pack, "scaled" form: byte_j = floor(V_j) mod 256 with V_j = sum over the codes overlapping byte j of
 * c_i * 2^(b*i - 8j): a code reaching in from below adds a fraction (dropped by floor), one reaching
 * out above adds multiples of 256 (dropped by the mod). V_j spans at most 15 + b bits, so it is exact in
 * fp32; the floor/mod passes run on the packed size (b/8 of the codes), not on the codes.
 */
export function emitPackRunsScaled(g: GraphBuilder, codes: Value, bits: number, axis: RunAxis): Value {
  const b = bits;
  if (b === 8) return codes;
  const plan = packPlan(b);
  if (!plan.straddles) return runMatMul(g, codes, plan.wl, b, axis);
  const w = new Array<number>(8 * b).fill(0);
  for (let i = 0; i < 8; i++) for (let j = 0; j < b; j++) if (i * b < 8 * j + 8 && i * b + b > 8 * j) w[i * b + j] = 2 ** (i * b - 8 * j);
  const v = g.op('Floor', [runMatMul(g, codes, w, b, axis)]);
  return g.op('Sub', [v, g.op('Mul', [g.op('Floor', [g.op('Mul', [v, f32(g, 1 / 256)])]), f32(g, 256)])]);
}

/**
 * Unpack, "scaled" form: code_i = floor(W_i) mod 2^b with W_i = sum over the bytes overlapping code i of
 * byte_j * 2^(8j - b*i) (at most 15 + b significant bits: exact in fp32). For b = 1, 2, 4 the mod is a
 * second MatMul: inside a byte floor(W_{i+1}) = floor(W_i / 2^b), so code_i = t_i - 2^b * t_{i+1}
 * (t = floor(W) <= 255, exact even in TF32 MatMuls). For b = 3, 5, 6, 7 it is floor/mul/sub passes.
 */
export function emitUnpackRunsScaled(g: GraphBuilder, bytes: Value, bits: number, axis: RunAxis): Value {
  const b = bits;
  if (b === 8) return bytes;
  const linearMod = b === 1 || b === 2 || b === 4;
  const p = new Array<number>(8 * b).fill(0); // [b, 8]
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < b; j++) if (i * b < 8 * j + 8 && i * b + b > 8 * j) p[j * 8 + i] = 2 ** (8 * j - i * b);
  }
  const matmul = (v: Value, m: number[], rows: number, cols: number) =>
    axis === 'last' ? g.op('MatMul', [v, g.constant('float32', [rows, cols], m)]) : g.op('MatMul', [g.constant('float32', [cols, rows], transposed(m, rows, cols)), v]);
  const t = g.op('Floor', [matmul(bytes, p, b, 8)]);
  if (linearMod) {
    // code_i = t_i - 2^b t_{i+1} while code i+1 is in the same byte.
    const perByte = 8 / b;
    const m = new Array<number>(64).fill(0); // [8, 8]: column i = code i
    for (let i = 0; i < 8; i++) {
      m[i * 8 + i] = 1;
      const next = i + 1;
      if (next % perByte !== 0) m[next * 8 + i] = -(2 ** b);
    }
    return matmul(t, m, 8, 8);
  }
  return g.op('Sub', [t, g.op('Mul', [g.op('Floor', [g.op('Mul', [t, f32(g, 2 ** -b)])]), f32(g, 2 ** b)])]);
}
