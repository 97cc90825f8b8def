// Flags shared by `submit` and `sweep` (the run fields that are not part of a sweep's grid).
import { int } from './args';

export const RUN_FLAGS = {
  limit: { type: 'string' },
  provider: { type: 'string' },
  protocol: { type: 'string' },
  prompt: { type: 'string' },
  'max-tokens': { type: 'string' },
  'few-shot': { type: 'string' },
  prefill: { type: 'string' },
  'residual-mode': { type: 'string' },
  'meta-dtype': { type: 'string' },
  'hqq-mode': { type: 'string' },
  'cache-mode': { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
} as const;

export const RUN_FLAGS_HELP = `  --limit N  --provider cpu|webgpu|cuda  --protocol ppl-decode|gen-exact|mc-decode
  --prompt N  --max-tokens N  --few-shot N  --prefill quantize-all|keep-residual
  --residual-mode append|requantize  --meta-dtype fp16|bf16|fp32  --hqq-mode faithful|clean
  --cache-mode packed|simulated  --seed N  --batch N`;

export function runFlagValues(v: Record<string, string | boolean | undefined>) {
  const s = (k: string) => v[k] as string | undefined;
  return {
    limit: int('limit', s('limit')),
    provider: s('provider'),
    protocol: s('protocol'),
    prompt: int('prompt', s('prompt')),
    maxTokens: int('max-tokens', s('max-tokens')),
    fewShot: int('few-shot', s('few-shot')),
    prefill: s('prefill'),
    residualMode: s('residual-mode'),
    metaDtype: s('meta-dtype'),
    hqqMode: s('hqq-mode'),
    cacheMode: s('cache-mode'),
    seed: int('seed', s('seed')),
    batch: int('batch', s('batch')),
  };
}
