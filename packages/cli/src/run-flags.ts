// Flags shared by `submit` and `sweep` (the run fields that are not part of a sweep's grid).
import { UsageError } from './command';
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
  rotation: { type: 'string' },
  scheme: { type: 'string' },
  budget: { type: 'string' },
  'bit-range': { type: 'string' },
  score: { type: 'string' },
  'budget-source': { type: 'string' },
  'group-budget': { type: 'string' },
  'compute-dtype': { type: 'string' },
} as const;

export const RUN_FLAGS_HELP = `  --limit N  --provider cpu|webgpu|cuda  --protocol ppl-decode|gen-exact|mc-decode
  --prompt N  --max-tokens N  --few-shot N  --prefill quantize-all|keep-residual
  --residual-mode append|requantize  --meta-dtype fp16|bf16|fp32  --hqq-mode faithful|clean
  --cache-mode packed|simulated  --seed N  --batch N
  --rotation none|hadamard   randomized Walsh-Hadamard rotation before quanto/hqq (seeded by --seed)
  --scheme KV|KQV|QKQV       TurboQuant scheme with backend turbo (default KQV)
  --budget B                 budget mode: average bits per tensor; per-layer b_K, b_V by the allocator
                             (K/V bits may be omitted: the run's keyBits = valueBits = round(B))
  --bit-range 1,1.58,2,4,6,8 --score frobenius|spectral --budget-source weights|cache --group-budget G
  --compute-dtype float32|float16   the model's arithmetic (default float32; float16 as GPUs serve models)`;

/** A number flag (fractions allowed), naming the flag on a bad value. */
export function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: got ${JSON.stringify(v)}, expected a number`);
  return n;
}

export function numList(flag: string, v: string | undefined): number[] | undefined {
  return v === undefined ? undefined : v.split(',').map((x) => num(flag, x)!);
}

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
    rotation: s('rotation'),
    turboScheme: s('scheme'),
    budget: num('budget', s('budget')),
    bitRange: numList('bit-range', s('bit-range')),
    budgetScore: s('score'),
    budgetSource: s('budget-source'),
    groupBudget: int('group-budget', s('group-budget')),
    computeDtype: s('compute-dtype'),
  };
}

/** Run config fields -> the flags that set them, so a server's field errors can name a flag. */
export const FLAG_OF_RUN_FIELD: Record<string, string> = {
  keyBits: '--key-bits / --bits',
  valueBits: '--value-bits / --bits',
  backend: '--backend',
  rotation: '--rotation',
  turboScheme: '--scheme',
  budget: '--budget',
  bitRange: '--bit-range',
  budgetScore: '--score',
  budgetSource: '--budget-source',
  groupBudget: '--group-budget',
  computeDtype: '--compute-dtype',
};
