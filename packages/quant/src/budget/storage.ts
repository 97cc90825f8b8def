// What a layer-wise allocation costs as stored (quantizers.md §10.1-10.2). kvq's budget is nominal:
// with HQQ packing 5 and 6 bits occupy a byte, 1.58 (ternary) occupies 2 bits and 3 bits 3.2
// (10 codes per int32). kvbench's own dense packing stores integer b in b bits and ternary in 2.

export const CODE_PACKINGS = ['hqq', 'quanto', 'kivi', 'dense'] as const;
export type CodePacking = (typeof CODE_PACKINGS)[number];

const HQQ_STORED: ReadonlyMap<number, number> = new Map([
  [1, 1], [1.58, 2], [2, 2], [3, 3.2], [4, 4], [5, 8], [6, 8], [8, 8],
]);

/** Bits one code of nominal width `bits` occupies once packed. */
export function storedCodeBits(bits: number, packing: CodePacking): number {
  switch (packing) {
    case 'hqq': {
      const stored = HQQ_STORED.get(bits);
      if (stored === undefined) throw new Error(`bits: HQQ stores ${[...HQQ_STORED.keys()].join(', ')}; got ${bits}`);
      return stored;
    }
    case 'quanto':
    case 'kivi':
      if (bits !== 2 && bits !== 4 && bits !== 8) throw new Error(`bits: ${packing} stores 2, 4 or 8; got ${bits}`);
      return bits;
    case 'dense':
      if (!(bits > 0 && bits <= 8)) throw new Error(`bits: dense packing stores widths in (0, 8]; got ${bits}`);
      // A fractional width is a code count (1.58 = log2 3): it needs ceil(bits) bits per code.
      return Math.ceil(bits - 1e-9);
    default:
      throw new Error(`packing: unknown "${String(packing)}" (expected ${CODE_PACKINGS.join(', ')})`);
  }
}

export interface LayerwiseStorageInput {
  keyBits: readonly number[];
  valueBits: readonly number[];
  /** One size for all layers, or one per layer. */
  keyGroupSize: number | readonly number[];
  valueGroupSize: number | readonly number[];
  kvHeads: number;
  headDim: number;
  packing: CodePacking;
  /** Bits of scale + zero per group; default 32 (fp16/bf16 each). */
  metaBitsPerGroup?: number;
}

export interface LayerwiseStorage {
  /** Mean nominal bits per element over K and V of all layers (= kvq's budget when exact). */
  nominalBits: number;
  /** Mean stored bits per element, codes only. */
  storedCodeBits: number;
  /** Mean stored bits per element, codes + scale/zero. */
  storedBitsPerElement: number;
  /** Σ_l H·D·[(b_store(K,l) + m/G_K,l) + (b_store(V,l) + m/G_V,l)]/8. */
  bytesPerToken: number;
}

export function layerwiseStorage(input: LayerwiseStorageInput): LayerwiseStorage {
  const layers = input.keyBits.length;
  if (input.valueBits.length !== layers) throw new Error(`valueBits: ${input.valueBits.length} layers, expected ${layers}`);
  const meta = input.metaBitsPerGroup ?? 32;
  const groupAt = (g: number | readonly number[], name: string, l: number): number => {
    const v = typeof g === 'number' ? g : g[l];
    if (typeof g !== 'number' && g.length !== layers) throw new Error(`${name}: ${g.length} layers, expected ${layers}`);
    if (!(v > 0)) throw new Error(`${name}[${l}]: must be a positive group size, got ${v}`);
    return v;
  };
  let nominal = 0;
  let codes = 0;
  let total = 0;
  for (let l = 0; l < layers; l++) {
    const kb = input.keyBits[l];
    const vb = input.valueBits[l];
    nominal += kb + vb;
    const ks = storedCodeBits(kb, input.packing);
    const vsb = storedCodeBits(vb, input.packing);
    codes += ks + vsb;
    total += ks + meta / groupAt(input.keyGroupSize, 'keyGroupSize', l) + vsb + meta / groupAt(input.valueGroupSize, 'valueGroupSize', l);
  }
  const tensors = 2 * layers;
  return {
    nominalBits: nominal / tensors,
    storedCodeBits: codes / tensors,
    storedBitsPerElement: total / tensors,
    bytesPerToken: (input.kvHeads * input.headDim * total) / 8,
  };
}
