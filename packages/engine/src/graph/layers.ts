// The decoder's building blocks as ONNX subgraphs, named like the math. Hidden states are 2-D
// [tokens, features]; every projection is one MatMul on its weight stored transposed, [in, out]: WebGPU's
// Gemm kernel reads a transB weight a column per thread and ran a one-token projection at 64-114 GB/s on
// an H100, its tiled MatMul at about 260 (bench/results/gpu-decode-profile.md, gpu-linears.md).
// Only ops that the CPU and WebGPU execution providers both run (onnxruntime-node.md).
import type { GraphBuilder, Value } from '@kvbench/onnx';
import { prefillPartsFor, splitKPrefill, splitKProduct, type SplitK } from './split-k';
import { quantizeInt4, type WeightQuant } from './int4-weights';
import { floatTensor, transposedFloatTensor, type GraphDtype } from './precision';

export class Layers {
  constructor(
    readonly g: GraphBuilder,
    readonly dtype: GraphDtype,
    /** How projection() stores its weights; default 16 = float (one MatMul). */
    readonly weightQuant: WeightQuant = { bits: 16 },
    /** Float projections of one token as split-K products (split-k.ts); null: one MatMul. */
    readonly splitK: SplitK | null = null,
  ) {}

  weight(name: string, dims: number[], values: Float32Array): Value {
    return this.g.initializer(name, floatTensor(this.dtype, dims, values));
  }

  scalar(value: number): Value {
    return this.g.scalar(this.dtype, value);
  }

  /** A weight W [out, in] stored as the initializer `name` = W^T [in, out], for linear(). */
  transposedWeight(name: string, dims: [number, number], values: Float32Array): Value {
    return this.g.initializer(name, transposedFloatTensor(this.dtype, dims, values));
  }

  /** y = x W^T (+ b): x [T, in], wT = W^T [in, out] (see transposedWeight). */
  linear(x: Value, wT: Value, bias?: Value): Value {
    const y = this.g.op('MatMul', [x, wT]);
    return bias ? this.g.op('Add', [y, bias]) : y;
  }

  /**
   * RMSNorm over the last axis, x / sqrt(mean(x^2) + eps) * weight, as one SimplifiedLayerNormalization
   * (ONNX Runtime's own op, on CPU and WebGPU): its statistics are float32 in fp16 graphs too (a sum of
   * squares of a 4096-wide activation overflows fp16), and one node instead of nine.
   */
  rmsNorm(x: Value, weight: Value, eps: number): Value {
    return this.g.op('SimplifiedLayerNormalization', [x, weight], { axis: -1, epsilon: eps, stash_type: 1 });
  }

  /**
   * A linear layer y = x W^T (+ b) whose weight W [out, in] is an initializer named `name` (stored
   * transposed): one MatMul, or with 4-bit weights one com.microsoft MatMulNBits (`name`.q4 / .scales /
   * .zero_points) + Add.
   */
  projection(x: Value, name: string, dims: [number, number], values: Float32Array, bias?: Value): Value {
    if (this.weightQuant.bits === 16) return this.denseProjection(x, name, dims, values, bias);
    const [n, k] = dims;
    const blockSize = this.weightQuant.blockSize!;
    const q = quantizeInt4(values, n, k, blockSize);
    const g = this.g;
    const packed = g.initializer(`${name}.q4`, { dtype: 'uint8', dims: [n, q.nBlocks, blockSize / 2], data: q.packed });
    const scales = g.initializer(`${name}.scales`, floatTensor(this.dtype, [n * q.nBlocks], q.scales));
    const zeroPoints = g.initializer(`${name}.zero_points`, { dtype: 'uint8', dims: [q.zeroPoints.length], data: q.zeroPoints });
    const y = g.op('MatMulNBits', [x, packed, scales, zeroPoints], { K: k, N: n, bits: 4, block_size: blockSize, accuracy_level: 0 }, { domain: 'com.microsoft' });
    return bias ? g.op('Add', [y, bias]) : y;
  }

  /**
   * projection() with float weights: one MatMul, or with splitK (when `chunk` divides `in`) an If on
   * splitK.oneToken between the split-K product and the prefill's (partial products of about
   * splitK.prefillTerms terms, or one MatMul), over the weight stored once as
   * [in / chunk, chunk, out] (the bytes of W^T). rows 'one' (x is [1, in] in every run: the lm head)
   * takes the split product without an If.
   */
  denseProjection(x: Value, name: string, dims: [number, number], values: Float32Array, bias?: Value, rows: 'any' | 'one' = 'any'): Value {
    const [out, inDim] = dims;
    const s = this.splitK;
    if (!s || inDim % s.chunk !== 0 || inDim / s.chunk < 2) return this.linear(x, this.transposedWeight(name, dims, values), bias);
    const split: [number, number, number] = [inDim / s.chunk, s.chunk, out];
    const w = this.g.initializer(name, { ...transposedFloatTensor(this.dtype, dims, values), dims: split });
    let y: Value;
    if (rows === 'one') {
      y = splitKProduct(this.g, x, w, this.dtype, split);
    } else {
      const branch = (value: Value) => [{ value, dtype: this.dtype, shape: ['T', out] }];
      y = this.g.op('If', [s.oneToken], {
        then_branch: this.g.subgraph('split_k', (b) => branch(splitKProduct(b, x, w, this.dtype, split))),
        else_branch: this.g.subgraph('matmul', (b) => {
          const parts = prefillPartsFor(split[0], inDim, s.prefillTerms);
          return branch(parts > 1 ? splitKPrefill(b, x, w, split, parts) : b.op('MatMul', [x, b.op('Reshape', [w, b.ints([inDim, out])])]));
        }),
      });
    }
    return bias ? this.g.op('Add', [y, bias]) : y;
  }

  /** SwiGLU's gating, silu(gate) * up, of the gate and up projections (the down projection follows). */
  swiglu(gate: Value, up: Value): Value {
    const silu = this.g.op('Mul', [gate, this.g.op('Sigmoid', [gate])]);
    return this.g.op('Mul', [silu, up]);
  }

  /**
   * RoPE on x [T, heads, headDim] as x*cos + rotate(x)*sin, where rotate is a fixed channel permutation
   * with signs folded into the sin table: one formula for interleaved and rotate-half pairing.
   * cos/sinSigned are [T, 1, headDim] (gathered by position), rotation the permutation indices.
   */
  rope(x: Value, cos: Value, sinSigned: Value, rotation: Value): Value {
    const rotated = this.g.op('Gather', [x, rotation], { axis: 2 });
    return this.g.op('Add', [this.g.op('Mul', [x, cos]), this.g.op('Mul', [rotated, sinSigned])]);
  }

  reshape(x: Value, shape: number[]): Value {
    return this.g.op('Reshape', [x, this.g.ints(shape)]);
  }

  transpose(x: Value, perm: number[]): Value {
    return this.g.op('Transpose', [x], { perm });
  }

  /** Softmax along the last axis, in fp32 for fp16 graphs (large negative biases and long rows). */
  softmax(x: Value): Value {
    if (this.dtype === 'float32') return this.g.op('Softmax', [x], { axis: -1 });
    const p = this.g.op('Softmax', [this.g.op('Cast', [x], { to: 1 })], { axis: -1 });
    return this.g.op('Cast', [p], { to: 10 });
  }

  /** x * scale for a float scale. */
  scale(x: Value, s: number): Value {
    return this.g.op('Mul', [x, this.scalar(s)]);
  }
}
