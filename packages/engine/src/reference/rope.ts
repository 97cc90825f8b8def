// RoPE frequencies and rotation in float64, shared by the reference forward pass and anyone who needs
// the exact same angles (the graph builder can import ropeInverseFrequencies to build its tables).
import type { ModelConfig, RopeScaling } from '../model/config';

/** inv_freq[i] = theta^(-2i/headDim) for pair i, with Llama 3 scaling applied when configured. */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling: RopeScaling | null,
): Float64Array {
  const pairs = headDim / 2;
  const invFreq = new Float64Array(pairs);
  for (let i = 0; i < pairs; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  if (scaling?.type === 'llama3') {
    // As transformers' _compute_llama3_parameters: long wavelengths are slowed by `factor`, short ones
    // kept, and the band between is interpolated smoothly.
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
    const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
    const highFreqWavelen = originalMaxPositions / highFreqFactor;
    for (let i = 0; i < pairs; i++) {
      const freq = invFreq[i];
      const wavelen = (2 * Math.PI) / freq;
      if (wavelen < highFreqWavelen) continue;
      if (wavelen > lowFreqWavelen) {
        invFreq[i] = freq / factor;
      } else {
        const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        invFreq[i] = (1 - smooth) * (freq / factor) + smooth * freq;
      }
    }
  }
  return invFreq;
}

/** Rotates each head of `x` ([nHeads, headDim], in place) by position `pos`. */
export function applyRope(
  x: Float64Array,
  nHeads: number,
  pos: number,
  invFreq: Float64Array,
  config: Pick<ModelConfig, 'headDim' | 'ropePairing'>,
): void {
  const { headDim } = config;
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      // interleaved pairs (2i, 2i+1) as llama2.c; half pairs (i, i+half) as HF rotate_half.
      const a = config.ropePairing === 'interleaved' ? base + 2 * i : base + i;
      const b = config.ropePairing === 'interleaved' ? a + 1 : a + half;
      const x0 = x[a];
      const x1 = x[b];
      x[a] = x0 * cos - x1 * sin;
      x[b] = x0 * sin + x1 * cos;
    }
  }
}
