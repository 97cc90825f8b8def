// TurboQuant_mse inside an ONNX graph, with WebGPU-safe ops only (onnxruntime-node.md, WebGPU table):
// no Round, no bitwise ops. Encode: ν = sqrt(ReduceSum(x²)); y = (x/ν)·Πᵀ (MatMul); the index is the
// number of decision boundaries below y: Sum_k Cast(Greater(y, m_k)) (ties go to the lower cell, as
// nearestCentroid). Decode: Gather(centroids, idx)·Π·ν. Vectors are the last axis: [..., dim].
// Measured on an H100 through WebGPU with CPU fallback disabled: every node runs on the GPU. Name graph
// outputs through `names` rather than GraphBuilder.output's Identity: an Identity on the uint8 codes that
// also feed the decoder was placed on the CPU there.
import type { GraphBuilder, Value } from '@kvbench/onnx';
import { DTYPES, tensor } from '@kvbench/onnx';
import { emitRotation } from '../rotation/onnx';
import type { TurboQuantMse } from './turbo-mse';

export interface TurboMseEncoded {
  /** ν, [..., 1] float32 (0 for the zero vector). */
  norm: Value;
  /** Centroid indices, [..., rotatedDim] uint8. */
  codes: Value;
}

// ν below this is treated as the zero vector (its direction is meaningless in float32 anyway).
const TINY_NORM = 1e-30;

export function emitTurboMseEncode(
  g: GraphBuilder,
  x: Value,
  q: TurboQuantMse,
  names: { norm?: string; codes?: string } = {},
): TurboMseEncoded {
  const sumSq = g.op('ReduceSum', [g.op('Mul', [x, x]), g.ints([-1])], { keepdims: 1 });
  const norm = g.op('Sqrt', [sumSq], {}, names.norm ? { names: [names.norm] } : {});
  const safeNorm = g.op('Clip', [norm, g.scalar('float32', TINY_NORM), null]);
  const unit = g.op('Div', [x, safeNorm]);
  const y = emitRotation(g, unit, q.rotation);
  const boundaries = g.initializer(
    g.fresh(`turbo_boundaries_${q.bits}b_${q.rotation.outputDim}`),
    tensor('float32', [q.codebook.boundaries.length], Array.from(q.codebook.boundaries)),
  );
  // [..., p, 1] > [K-1] -> [..., p, K-1]; the count of true entries is the index.
  const above = g.op('Greater', [g.op('Unsqueeze', [y, g.ints([-1])]), boundaries]);
  const count = g.op('ReduceSum', [g.op('Cast', [above], { to: DTYPES.float32 }), g.ints([-1])], { keepdims: 0 });
  const codes = g.op('Cast', [count], { to: DTYPES.uint8 }, names.codes ? { names: [names.codes] } : {});
  return { norm, codes };
}

/** x̃ = ν·Πᵀ c[codes]; `codes` uint8 [..., rotatedDim], `norm` float32 [..., 1]. */
export function emitTurboMseDecode(g: GraphBuilder, codes: Value, norm: Value, q: TurboQuantMse, name?: string): Value {
  const centroids = g.initializer(
    g.fresh(`turbo_centroids_${q.bits}b_${q.rotation.outputDim}`),
    tensor('float32', [q.codebook.centroids.length], Array.from(q.codebook.centroids)),
  );
  const index = g.op('Cast', [codes], { to: DTYPES.int32 });
  const y = g.op('Gather', [centroids, index], { axis: 0 });
  const unit = emitRotation(g, y, q.rotation, { inverse: true });
  return g.op('Mul', [unit, norm], {}, name ? { names: [name] } : {});
}

/** Fake-quant round trip in one graph (the simulated cache mode). */
export function emitTurboMseQuantize(g: GraphBuilder, x: Value, q: TurboQuantMse, name?: string): Value {
  const { norm, codes } = emitTurboMseEncode(g, x, q);
  return emitTurboMseDecode(g, codes, norm, q, name);
}

