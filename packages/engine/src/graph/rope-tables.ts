// RoPE as lookup tables: cos and signed sin per (position, channel), computed in float64 from the same
// inverse frequencies as the reference (Llama 3 scaling included), so the graph needs no Sin/Cos and
// long positions keep full precision (fp32 angles lose ~1e-4 rad by position 8000).
import type { ModelConfig } from '../model';
import { ropeInverseFrequencies } from '../reference';

export interface RopeTables {
  /** [positions, headDim] */
  cos: Float32Array;
  /** [positions, headDim], sign of the rotation folded in. */
  sinSigned: Float32Array;
  /** Channel that rotates into each channel: (2i <-> 2i+1) interleaved, (i <-> i+half) rotate-half. */
  rotation: number[];
  positions: number;
}

export function ropeTables(config: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling' | 'ropePairing'>, positions: number): RopeTables {
  const D = config.headDim;
  const half = D / 2;
  const invFreq = ropeInverseFrequencies(D, config.ropeTheta, config.ropeScaling);
  const cos = new Float32Array(positions * D);
  const sinSigned = new Float32Array(positions * D);
  const rotation = new Array<number>(D);
  // (first, second) channel of pair i
  const pair = (i: number): [number, number] => (config.ropePairing === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + half]);
  for (let i = 0; i < half; i++) {
    const [a, b] = pair(i);
    rotation[a] = b;
    rotation[b] = a;
  }
  for (let p = 0; p < positions; p++) {
    const row = p * D;
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i];
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const [a, b] = pair(i);
      // out[a] = x[a] cos - x[b] sin; out[b] = x[b] cos + x[a] sin
      cos[row + a] = c;
      cos[row + b] = c;
      sinSigned[row + a] = -s;
      sinSigned[row + b] = s;
    }
  }
  return { cos, sinSigned, rotation, positions };
}

/**
 * The same angles as GroupQueryAttention's rotary caches: cos and sin [positions, headDim / 2] per pair
 * i (its channels by ropePairing: rotary_interleaved = 1 for interleaved pairs).
 */
export function ropeHalfTables(config: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = config.headDim / 2;
  const invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * invFreq[i]);
      sin[p * half + i] = Math.sin(p * invFreq[i]);
    }
  }
  return { cos, sin };
}
