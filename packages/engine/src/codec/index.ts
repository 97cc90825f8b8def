// Cache codecs: what a layer's keys and values are stored as, in the graphs and in TypeScript.
import type { ModelConfig } from '../model';
import type { CachePolicy } from '../evaluation';
import { GroupedCodec } from './grouped';
import { layerCodecSpecs, type CodecSpec } from './spec';
import type { TensorCodec } from './tensor-codec';
import { TurboCodec } from './turbo';

export type { CodecPart, CodedBlock, TensorCodec } from './tensor-codec';
export type { CodecSpec, LayerCodecSpecs } from './spec';
export { layerCodecSpecs } from './spec';
export { GroupedCodec, GROUPED_PARTS, partBytes } from './grouped';
export { TurboCodec } from './turbo';
export { tokenQuantum } from './quantum';

export interface LayerCodecs {
  key: TensorCodec;
  value: TensorCodec;
}

export function createCodec(spec: CodecSpec, kvHeads: number, headDim: number, field: string): TensorCodec {
  return spec.kind === 'grouped'
    ? new GroupedCodec(spec.quantizer, spec.rotation, kvHeads, headDim, field)
    : new TurboCodec(spec, kvHeads, headDim, field);
}

/** The codecs of every layer for a policy (null = full precision); equal specs share one codec. */
export function layerCodecs(policy: CachePolicy, config: Pick<ModelConfig, 'layers' | 'kvHeads' | 'headDim'>): LayerCodecs[] | null {
  const specs = layerCodecSpecs(policy, config.layers);
  if (!specs) return null;
  const made = new Map<string, TensorCodec>();
  const field = (layer: number, kind: 'key' | 'value') => (policy.layers ? `cache.layers[${layer}].${kind}` : `cache.quant.${kind}`);
  const get = (spec: CodecSpec, layer: number, kind: 'key' | 'value') => {
    const id = `${kind}|${JSON.stringify(spec)}`;
    let codec = made.get(id);
    if (!codec) made.set(id, (codec = createCodec(spec, config.kvHeads, config.headDim, field(layer, kind))));
    return codec;
  };
  return specs.map((s, l) => ({ key: get(s.key, l, 'key'), value: get(s.value, l, 'value') }));
}

/** The flush unit of one kind over all layers: a multiple of every layer's quantum (their lcm). */
export function kindQuantum(codecs: readonly LayerCodecs[], kind: 'key' | 'value'): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return codecs.reduce((q, c) => (q * c[kind].quantum) / gcd(q, c[kind].quantum), 1);
}
