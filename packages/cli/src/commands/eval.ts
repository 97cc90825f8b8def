// `kvbench eval`: one configuration, run locally through the engine's evaluate(), printed as a table
// (or the EvalResult as JSON with --json), with a progress line on stderr.
import { AXES, BACKENDS, DEFAULT_QUANTIZER, HQQ_MODES, META_DTYPES, type GroupAxis, type QuantizerConfig } from '@kvbench/quant';
import {
  BUDGET_SCORES,
  BUDGET_SOURCES,
  DEFAULT_BIT_RANGE,
  DEFAULT_TURBO_SCHEME,
  GROUP_BUDGET_MAX,
  GROUP_BUDGET_MIN,
  ROTATIONS,
  TERNARY_BITS,
  TURBO_SCHEME_NAMES,
  budgetBits,
  runLabel,
} from '@kvbench/protocol';
import {
  BUNDLED_BENCHMARKS,
  DATA_FORMATS,
  PROTOCOLS,
  PROVIDERS,
  evaluate,
  type DataFormat,
  type EvalOptions,
  type EvalProgress,
  type EvalResult,
  type InternalEvalOptions,
  type Protocol,
} from '@kvbench/engine';
import { UsageError, type Command, type CommandContext } from '../command';

export const description = 'run one configuration locally and print its metrics';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress redraws in place). */
  isTty: boolean;
}

const defaultIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTty: Boolean(process.stderr.isTTY),
};


const FULL_PRECISION = 16;

interface FlagSpec {
  value: string; // placeholder shown in help; '' for boolean flags
  help: string;
}

const FLAGS: Record<string, FlagSpec> = {
  model: { value: '<dir|file|stories260k>', help: 'Hugging Face directory, llama2.c .bin, or a bundled model (default stories260k)' },
  data: { value: '<file>', help: 'a data file (needs --format)' },
  format: { value: `<${DATA_FORMATS.join('|')}>`, help: 'format of --data' },
  benchmark: { value: `<${BUNDLED_BENCHMARKS.map((b) => b.name).join('|')}>`, help: 'a bundled benchmark (instead of --data)' },
  protocol: { value: `<${PROTOCOLS.join('|')}>`, help: 'default: the one the data calls for' },
  prompt: { value: 'N', help: 'prefill tokens (ppl-decode), default 64' },
  'max-tokens': { value: 'N', help: 'tokens per document (ppl-decode) or new tokens (gen-exact), default 256' },
  limit: { value: 'N', help: 'documents / items, default 20' },
  'few-shot': { value: 'N', help: 'examples in the gen-exact prompt, default 5' },
  kbits: { value: 'N', help: 'key bits 1..8, or 16 = full precision (default 4)' },
  vbits: { value: 'N', help: 'value bits 1..8, or 16 = full precision (default 2)' },
  backend: { value: `<${[...BACKENDS, 'turbo'].join('|')}>`, help: 'quantizer, default quanto (turbo: TurboQuant, bits from --kbits/--vbits)' },
  scheme: { value: `<${TURBO_SCHEME_NAMES.join('|')}>`, help: `TurboQuant scheme with --backend turbo, default ${DEFAULT_TURBO_SCHEME}` },
  rotation: { value: `<${ROTATIONS.join('|')}>`, help: 'randomized Walsh-Hadamard rotation before quanto/hqq, default none' },
  seed: { value: 'N', help: 'seed of the rotation and of TurboQuant, default 0' },
  'compute-dtype': { value: '<float32|float16>', help: "the model's arithmetic, default float32 (float16 as GPUs serve models)" },
  budget: { value: 'B', help: 'budget mode: average bits per tensor; per-layer K/V bits from sensitivities' },
  'bit-range': { value: '<w,w,...>', help: `widths the budget may use (integers 1..8, ${TERNARY_BITS}), default ${DEFAULT_BIT_RANGE.join(',')}` },
  score: { value: `<${BUDGET_SCORES.join('|')}>`, help: 'budget sensitivity norm, default spectral' },
  'budget-source': { value: `<${BUDGET_SOURCES.join('|')}>`, help: 'norms of W_K/W_V or of the cached K/V, default weights' },
  'group-budget': { value: 'N', help: `budget mode: average group size (${GROUP_BUDGET_MIN}..${GROUP_BUDGET_MAX}) spread over layers` },
  'group-size': { value: 'N', help: 'group size for keys and values, default 64' },
  'key-group-size': { value: 'N', help: 'group size for keys' },
  'value-group-size': { value: 'N', help: 'group size for values' },
  'key-axis': { value: `<${AXES.join('|')}>`, help: 'key group layout, default per-token' },
  'value-axis': { value: `<${AXES.join('|')}>`, help: 'value group layout, default per-token' },
  'meta-dtype': { value: `<${META_DTYPES.join('|')}>`, help: 'dtype of scales and zeros, default fp16' },
  'hqq-mode': { value: `<${HQQ_MODES.join('|')}>`, help: 'HQQ solver variant, default faithful' },
  residual: { value: 'N', help: 'full-precision residual length, default 128 (0 = quantize every token)' },
  prefill: { value: '<quantize-all|keep-residual>', help: 'how the prompt is stored, default quantize-all' },
  'residual-mode': { value: '<append|requantize>', help: 'residual flush, default append' },
  'cache-mode': { value: '<packed|simulated>', help: 'packed codes or fake-quant, default packed' },
  ep: { value: `<${PROVIDERS.join('|')}>`, help: 'execution provider, default cpu (never falls back)' },
  engine: { value: '<onnx|reference>', help: 'decoder sessions: ONNX Runtime (default) or the float64 reference (cross-checks)' },
  json: { value: '', help: 'print the full result as JSON on stdout' },
  help: { value: '', help: 'show this help' },
};

export function usage(): string {
  const lines = ['kvbench eval (--benchmark <name> | --data <file> --format <format>) [flags]', '', 'flags:'];
  for (const [name, spec] of Object.entries(FLAGS)) {
    lines.push(`  --${name}${spec.value ? ' ' + spec.value : ''}`.padEnd(56) + spec.help);
  }
  lines.push(
    '',
    'Example: kvbench eval --model stories260k --benchmark tinystories --kbits 4 --vbits 2 --group-size 8 --limit 40',
    '         kvbench eval --model stories260k --benchmark tinystories --budget 4 --bit-range 1,1.58,2,4,6,8 --score spectral --group-size 8',
    '         kvbench eval --model stories260k --benchmark tinystories --backend turbo --scheme KQV --kbits 3 --vbits 3',
    '(in budget mode --kbits/--vbits may be omitted: they are round(budget), the quantizer the allocator starts from)',
  );
  return lines.join('\n') + '\n';
}

/** Raw flag values by name; booleans map to 'true'. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; flags look like --name value (see --help)`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = FLAGS[name];
    if (!spec) throw new UsageError(`unknown flag --${name}; allowed: ${Object.keys(FLAGS).map((f) => '--' + f).join(', ')}`);
    if (flags.has(name)) throw new UsageError(`--${name} given twice`);
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, 'true');
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value: ${spec.value}`);
    flags.set(name, value);
  }
  return flags;
}

function choice<T extends string>(flags: Map<string, string>, name: string, allowed: readonly T[], fallback: T): T;
function choice<T extends string>(flags: Map<string, string>, name: string, allowed: readonly T[], fallback?: undefined): T | undefined;
function choice<T extends string>(flags: Map<string, string>, name: string, allowed: readonly T[], fallback?: T): T | undefined {
  const value = flags.get(name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name}: got ${JSON.stringify(value)}, allowed: ${allowed.join(', ')}`);
  return value as T;
}

function integer(flags: Map<string, string>, name: string, fallback: number, min = 1): number {
  const value = flags.get(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name}: got ${JSON.stringify(value)}, allowed: an integer >= ${min}`);
  }
  return n;
}

function bits(flags: Map<string, string>, name: string, fallback: number): number {
  const value = flags.get(name);
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || !((n >= 1 && n <= 8) || n === FULL_PRECISION)) {
    throw new UsageError(`--${name}: got ${JSON.stringify(value)}, allowed: integers 1..8, or 16 for full precision`);
  }
  return n;
}

const PROTOCOL_OF_FORMAT: Record<DataFormat, Protocol> = {
  text: 'ppl-decode',
  gsm8k: 'gen-exact',
  hellaswag: 'mc-decode',
  arc: 'mc-decode',
  'mc-jsonl': 'mc-decode',
};

/** --budget and its companions -> CachePolicy.budget (null without --budget; the companions alone are an error). */
export function budgetFlags(flags: Map<string, string>): NonNullable<EvalOptions['cache']['budget']> | null {
  const companions = ['bit-range', 'score', 'budget-source', 'group-budget'].filter((f) => flags.has(f));
  const value = flags.get('budget');
  if (value === undefined) {
    if (companions.length) throw new UsageError(`--${companions[0]} goes with --budget B`);
    return null;
  }
  const budget = Number(value);
  if (value.trim() === '' || !Number.isFinite(budget) || budget < 1 || budget > 8) throw new UsageError(`--budget: got ${JSON.stringify(value)}, allowed: a number of bits in 1..8 (e.g. 3 or 4)`);
  let bitRange = [...DEFAULT_BIT_RANGE];
  const range = flags.get('bit-range');
  if (range !== undefined) {
    bitRange = range.split(',').map((w, i) => {
      const b = Number(w.trim());
      if (w.trim() === '' || !((Number.isInteger(b) && b >= 1 && b <= 8) || b === TERNARY_BITS)) {
        throw new UsageError(`--bit-range: width ${i + 1} is ${JSON.stringify(w.trim())}, allowed: integers 1..8, or ${TERNARY_BITS} (ternary)`);
      }
      return b;
    });
    bitRange = [...new Set(bitRange)].sort((a, b) => a - b);
  }
  if (budget < bitRange[0] || budget > bitRange[bitRange.length - 1]) {
    throw new UsageError(`--budget: ${budget} is outside the bit range [${bitRange[0]}, ${bitRange[bitRange.length - 1]}] (--bit-range)`);
  }
  let groupBudget: number | null = null;
  if (flags.has('group-budget')) {
    groupBudget = integer(flags, 'group-budget', 0, GROUP_BUDGET_MIN);
    if (groupBudget > GROUP_BUDGET_MAX) throw new UsageError(`--group-budget: got ${groupBudget}, allowed: an integer in ${GROUP_BUDGET_MIN}..${GROUP_BUDGET_MAX}`);
  }
  return { bits: budget, bitRange, score: choice(flags, 'score', BUDGET_SCORES, 'spectral'), source: choice(flags, 'budget-source', BUDGET_SOURCES, 'weights'), groupBudget };
}

/** Builds the engine's EvalOptions (and internal options) from the command line. */
export function evalOptionsFromArgs(argv: readonly string[]): { options: EvalOptions; internal: InternalEvalOptions; json: boolean; help: boolean } {
  const flags = parseFlags(argv);
  const help = flags.has('help');
  const data = flags.get('data');
  const benchmark = flags.get('benchmark');
  if (help) return { options: undefined as never, internal: {}, json: false, help };
  if (data !== undefined && benchmark !== undefined) throw new UsageError('give either --data <file> (with --format) or --benchmark <name>, not both');
  let format: DataFormat | undefined;
  if (benchmark !== undefined) {
    const bundled = BUNDLED_BENCHMARKS.find((b) => b.name === benchmark);
    if (!bundled) throw new UsageError(`--benchmark: got ${JSON.stringify(benchmark)}, allowed: ${BUNDLED_BENCHMARKS.map((b) => b.name).join(', ')}`);
    if (flags.has('format')) throw new UsageError('--format goes with --data <file>; a --benchmark knows its format');
    format = bundled.format;
  } else if (data !== undefined) {
    format = choice(flags, 'format', DATA_FORMATS);
    if (format === undefined) throw new UsageError(`--data needs --format: ${DATA_FORMATS.join(', ')}`);
  } else {
    throw new UsageError(`say what to evaluate on: --benchmark <${BUNDLED_BENCHMARKS.map((b) => b.name).join('|')}> or --data <file> --format <${DATA_FORMATS.join('|')}>`);
  }
  const protocol = choice(flags, 'protocol', PROTOCOLS, PROTOCOL_OF_FORMAT[format]);

  const budget = budgetFlags(flags);
  const backend = choice(flags, 'backend', [...BACKENDS, 'turbo'] as const, 'quanto');
  if (budget) {
    const fill = budgetBits(budget.bits);
    for (const name of ['kbits', 'vbits']) {
      if (flags.has(name) && Number(flags.get(name)) !== fill) throw new UsageError(`--${name}: set by --budget in budget mode (round(${budget.bits}) = ${fill}); omit it`);
    }
    if (backend === 'turbo') throw new UsageError('--budget needs --backend quanto or hqq (a grouped quantizer)');
  }
  const keyBits = budget ? budgetBits(budget.bits) : bits(flags, 'kbits', 4);
  const valueBits = budget ? budgetBits(budget.bits) : bits(flags, 'vbits', 2);
  if ((keyBits === FULL_PRECISION) !== (valueBits === FULL_PRECISION)) {
    throw new UsageError(`--kbits ${keyBits} --vbits ${valueBits}: full precision (16) must be chosen for both keys and values`);
  }
  const full = keyBits === FULL_PRECISION;
  const groupSize = integer(flags, 'group-size', 64);
  const metaDtype = choice(flags, 'meta-dtype', META_DTYPES, 'fp16');
  const hqqMode = choice(flags, 'hqq-mode', HQQ_MODES, 'faithful');
  const seed = integer(flags, 'seed', 0, 0);
  const rotation = choice(flags, 'rotation', ROTATIONS, 'none');
  if (rotation === 'hadamard' && full) throw new UsageError('--rotation: a rotation needs a quantized cache; K16V16 has none');
  if (rotation === 'hadamard' && backend === 'turbo') throw new UsageError('--rotation: turbo rotates by itself; rotation applies to --backend quanto and hqq');
  if (flags.has('scheme') && backend !== 'turbo') throw new UsageError('--scheme goes with --backend turbo');
  const scheme = choice(flags, 'scheme', TURBO_SCHEME_NAMES, DEFAULT_TURBO_SCHEME);
  let quant: EvalOptions['cache']['quant'];
  if (full) quant = null;
  else if (backend === 'turbo') {
    // TurboQuant codes whole head vectors: the quantizer config only carries its bits (contract of CachePolicy.turbo).
    quant = { key: { ...DEFAULT_QUANTIZER, bits: keyBits }, value: { ...DEFAULT_QUANTIZER, bits: valueBits } };
  } else {
    const quantizer = (b: number, axis: GroupAxis, g: number): QuantizerConfig => ({ bits: b, backend, axis, groupSize: g, metaDtype, hqqMode });
    const keyAxis = choice(flags, 'key-axis', AXES, 'per-token');
    const valueAxis = choice(flags, 'value-axis', AXES, 'per-token');
    if (budget) {
      for (const [name, axis] of [['key-axis', keyAxis], ['value-axis', valueAxis]] as const) {
        if (axis !== 'per-token' && axis !== 'per-channel') throw new UsageError(`--${name}: budget mode needs per-token or per-channel; got ${axis}`);
      }
    }
    const uniform = budget?.groupBudget ?? null;
    quant = {
      key: quantizer(keyBits, keyAxis, uniform ?? integer(flags, 'key-group-size', groupSize)),
      value: quantizer(valueBits, valueAxis, uniform ?? integer(flags, 'value-group-size', groupSize)),
    };
  }

  const options: EvalOptions = {
    model: flags.get('model') ?? 'stories260k',
    data: benchmark ?? data!,
    ...(benchmark === undefined ? { format } : {}),
    protocol,
    prompt: integer(flags, 'prompt', 64),
    maxTokens: integer(flags, 'max-tokens', 256),
    limit: integer(flags, 'limit', 20),
    ...(flags.has('few-shot') ? { fewShot: integer(flags, 'few-shot', 5, 0) } : {}),
    cache: {
      quant,
      residualLength: integer(flags, 'residual', 128, 0),
      prefill: choice(flags, 'prefill', ['quantize-all', 'keep-residual'] as const, 'quantize-all'),
      residualMode: choice(flags, 'residual-mode', ['append', 'requantize'] as const, 'append'),
      mode: choice(flags, 'cache-mode', ['packed', 'simulated'] as const, 'packed'),
      ...(rotation === 'hadamard' ? { rotation: { kind: 'hadamard' as const, seed } } : {}),
      ...(quant && backend === 'turbo' ? { turbo: { scheme, seed } } : {}),
      ...(budget ? { budget } : {}),
    },
    provider: choice(flags, 'ep', PROVIDERS, 'cpu'),
    ...(flags.has('seed') ? { seed } : {}),
    ...(flags.has('compute-dtype') ? { dtype: choice(flags, 'compute-dtype', ['float32', 'float16'] as const, 'float32') } : {}),
  };
  if (protocol === 'ppl-decode' && options.maxTokens < options.prompt + 2) {
    throw new UsageError(`--max-tokens: got ${options.maxTokens}, ppl-decode needs at least --prompt + 2 = ${options.prompt + 2}`);
  }
  const engine = choice(flags, 'engine', ['onnx', 'reference'] as const);
  return { options, internal: engine ? { engine } : {}, json: flags.has('json'), help };
}

/** Engine error fields -> the flags that set them, so errors from deep layers still name a flag. */
const FLAG_OF_FIELD: [RegExp, string][] = [
  [/\b(cache\.quant\.)?key\.groupSize\b/, '--key-group-size'],
  [/\b(cache\.quant\.)?value\.groupSize\b/, '--value-group-size'],
  [/\b(cache\.quant\.)?key\.axis\b/, '--key-axis'],
  [/\b(cache\.quant\.)?value\.axis\b/, '--value-axis'],
  [/\b(cache\.quant\.)?key\.bits\b/, '--kbits'],
  [/\b(cache\.quant\.)?value\.bits\b/, '--vbits'],
  [/\bcache\.residualLength\b/, '--residual'],
  [/\bcache\.budget\.bitRange\b/, '--bit-range'],
  [/\bcache\.budget\.groupBudget\b/, '--group-budget'],
  [/\bcache\.budget\.score\b/, '--score'],
  [/\bcache\.budget\.source\b/, '--budget-source'],
  [/\bcache\.budget(\.bits)?\b/, '--budget'],
  [/\bcache\.turbo(\.scheme)?\b/, '--scheme'],
  [/\bcache\.rotation\b/, '--rotation'],
  [/\bmaxTokens\b/, '--max-tokens'],
  [/\bfewShot\b/, '--few-shot'],
  [/\bprovider\b/, '--ep'],
];

export function flagError(message: string): string {
  for (const [pattern, flag] of FLAG_OF_FIELD) if (pattern.test(message)) return message.replace(pattern, flag);
  return message;
}

function fmt(x: number | undefined, digits: number): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** runLabel for the options of a local run ("K4V2", "K4V2 WHT", "TQ-KQV 3b", "budget 4 (spectral)"). */
export function optionsLabel(o: EvalOptions): string {
  const q = o.cache.quant;
  if (!q) return 'K16V16';
  const b = o.cache.budget;
  return runLabel({
    keyBits: q.key.bits,
    valueBits: q.value.bits,
    backend: o.cache.turbo ? 'turbo' : q.key.backend,
    rotation: o.cache.rotation ? 'hadamard' : null,
    turboScheme: o.cache.turbo?.scheme ?? null,
    budget: b?.bits ?? null,
    budgetScore: b?.score ?? null,
    budgetSource: b?.source ?? null,
    groupBudget: b?.groupBudget ?? null,
  });
}

function describeQuant(o: EvalOptions): string {
  const q = o.cache.quant;
  if (!q) return 'full precision (K16V16)';
  const policy = `residual ${o.cache.residualLength} ${o.cache.residualMode}, ${o.cache.prefill}`;
  if (o.cache.turbo) return `${optionsLabel(o)} TurboQuant (seed ${o.cache.turbo.seed}), ${policy}`;
  const side = (c: QuantizerConfig) => `${c.axis} G=${c.groupSize}`;
  const layout = o.cache.budget?.groupBudget ? `${q.key.axis === q.value.axis ? q.key.axis : `K ${q.key.axis}, V ${q.value.axis}`} G~${o.cache.budget.groupBudget} per layer` : side(q.key) === side(q.value) ? side(q.key) : `K ${side(q.key)}, V ${side(q.value)}`;
  const rotation = o.cache.rotation ? `, Walsh-Hadamard rotation (seed ${o.cache.rotation.seed})` : '';
  const range = o.cache.budget ? `, widths ${o.cache.budget.bitRange.join(',')}` : '';
  return `${optionsLabel(o)} ${q.key.backend} ${layout}${rotation}${range}, ${policy}`;
}

/** The readable result table. */
export function formatResult(r: EvalResult): string {
  const m = r.metrics;
  const rows: [string, string, string][] = [];
  const add = (name: string, value: string, stderr = '') => rows.push([name, value, stderr]);
  if (m.perplexity !== undefined) add('perplexity', fmt(m.perplexity, 4));
  if (m.perplexityFp !== undefined) add('perplexity, fp cache', fmt(m.perplexityFp, 4));
  if (m.accuracy !== undefined) add('accuracy', fmt(m.accuracy, 4), fmt(m.accuracyStderr, 4));
  if (m.accuracyNorm !== undefined) add('accuracy (length-normalised)', fmt(m.accuracyNorm, 4), fmt(m.accuracyNormStderr, 4));
  if (m.accuracyFp !== undefined) add('accuracy, fp cache', fmt(m.accuracyFp, 4));
  if (m.agreement !== undefined) add('same output as fp cache', fmt(m.agreement, 4));
  if (m.kl !== undefined) add('KL(fp || q) per token (nats)', fmt(m.kl, 5));
  if (m.top1 !== undefined) add('top-1 agreement with fp', fmt(m.top1, 4));
  if (m.nllDelta !== undefined) add('NLL delta per token (q - fp)', fmt(m.nllDelta, 5), fmt(m.nllDeltaStderr, 5));
  if (m.scoredTokens !== undefined) add('scored tokens', String(m.scoredTokens));
  add('KV bytes per token', `${fmt(r.memory.kvBytesPerToken, 1)} (fp16 ${r.memory.fp16BytesPerToken}, ${fmt(r.memory.ratioToFp16, 3)}x)`);
  add('tokens/s (quantized session)', fmt(r.speed.tokensPerSecond, 1));
  if (r.speed.decodeStepMs !== undefined) add('decode step, median (ms)', fmt(r.speed.decodeStepMs, 2));
  add('wall time (s)', fmt(r.speed.wallSeconds, 1));
  add('peak RSS (MiB)', fmt(r.memory.peakRssBytes / 2 ** 20, 0));
  if (r.nonFinite > 0) add('non-finite cache values', String(r.nonFinite));
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  const header = [
    `model      ${r.model.name} (${r.model.architecture}, weights ${r.model.weightsHash.slice(0, 12)})`,
    `benchmark  ${r.benchmark.name} (${r.config.protocol}, ${r.benchmark.items} items, data ${r.benchmark.dataHash.slice(0, 12)})`,
    `cache      ${describeQuant(r.config)}`,
    `provider   ${r.provider} on ${r.device}${r.engine ? `, ${r.engine} engine` : ''}`,
    '',
    `${'metric'.padEnd(w0)}  ${'value'.padEnd(w1)}  stderr`,
    `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ------`,
  ];
  const table = [...header, ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd())];
  return [...table, ...formatLayerStats(r), ...formatAllocation(r), ...formatAttention(r)].join('\n') + '\n';
}

/** Budget mode: what the allocator chose per layer, and what it costs as stored. */
export function formatAllocation(r: Pick<EvalResult, 'allocation'>): string[] {
  const a = r.allocation;
  if (!a) return [];
  const lines = [
    '',
    `allocation: budget ${a.budget} (${a.score} norms of ${a.source === 'cache' ? 'the cached K/V' : 'W_K/W_V'}), widths ${a.bitRange.join(',')}${a.groupBudget ? `, group budget ${a.groupBudget}` : ''}`,
    `  nominal ${fmt(a.nominalBits, 3)} bits/element; stored ${fmt(a.storedBitsPerElement, 3)} (kvbench dense packing), ${fmt(a.storedBitsPerElementHqq, 3)} (HQQ packing), scales and zeros included`,
    '',
    'layer  K bits  V bits  K group  V group  K sensitivity  V sensitivity',
    '-----  ------  ------  -------  -------  -------------  -------------',
  ];
  for (let l = 0; l < a.keyBits.length; l++) {
    lines.push(
      `${String(l).padEnd(5)}  ${String(a.keyBits[l]).padEnd(6)}  ${String(a.valueBits[l]).padEnd(6)}  ${String(a.keyGroupSizes[l] ?? '-').padEnd(7)}  ${String(a.valueGroupSizes[l] ?? '-').padEnd(7)}  ` +
        `${fmt(a.keySensitivities[l], 4).padEnd(13)}  ${fmt(a.valueSensitivities[l], 4)}`,
    );
  }
  return lines;
}

/** Per-layer attention damage (attn.* layer statistics) when the engine reports it. */
function formatAttention(r: EvalResult): string[] {
  const stats = r.layerStats.filter((s) => s.metric.startsWith('attn.'));
  if (!stats.length) return [];
  const layers = [...new Set(stats.map((s) => s.layer))].sort((a, b) => a - b);
  const get = (layer: number, tensor: 'k' | 'v', metric: string) => stats.find((s) => s.layer === layer && s.tensor === tensor && s.metric === metric)?.value;
  // KL depends on the keys only (tensor k); the output error on both (stored under v).
  const lines = ['', 'layer  attn KL mean  attn KL max  rel. err K  rel. err V  output rel. err', '-----  ------------  -----------  ----------  ----------  ---------------'];
  for (const l of layers) {
    lines.push(
      `${String(l).padEnd(5)}  ${fmt(get(l, 'k', 'attn.klMean'), 5).padEnd(12)}  ${fmt(get(l, 'k', 'attn.klMax'), 5).padEnd(11)}  ` +
        `${fmt(get(l, 'k', 'attn.relError'), 4).padEnd(10)}  ${fmt(get(l, 'v', 'attn.relError'), 4).padEnd(10)}  ${fmt(get(l, 'v', 'attn.outputRelError'), 4)}`,
    );
  }
  return lines;
}

/** Per-layer cache statistics (when the engine reports them): K and V norms and quantization error. */
function formatLayerStats(r: EvalResult): string[] {
  // attn.* and alloc.* rows have tables of their own.
  const stats = r.layerStats.filter((s) => !s.metric.startsWith('attn.') && !s.metric.startsWith('alloc.'));
  if (stats.length === 0) return [];
  const layers = [...new Set(stats.map((s) => s.layer))].sort((a, b) => a - b);
  const get = (layer: number, tensor: 'k' | 'v', metric: string) => stats.find((s) => s.layer === layer && s.tensor === tensor && s.metric === metric)?.value;
  const lines = ['', 'layer  mean |k|  mean |v|  rel. error K  rel. error V', '-----  --------  --------  ------------  ------------'];
  for (const l of layers) {
    lines.push(
      `${String(l).padEnd(5)}  ${fmt(get(l, 'k', 'meanNorm'), 3).padEnd(8)}  ${fmt(get(l, 'v', 'meanNorm'), 3).padEnd(8)}  ` +
        `${fmt(get(l, 'k', 'relError'), 4).padEnd(12)}  ${fmt(get(l, 'v', 'relError'), 4)}`,
    );
  }
  return lines;
}

function progressLine(p: EvalProgress): string {
  const eta = p.etaSeconds === null ? '?' : `${Math.round(p.etaSeconds)}s`;
  return `[${p.itemsDone}/${p.itemsTotal}] ${p.tokensDone} tokens, ${p.tokensPerSecond.toFixed(0)} tok/s, ETA ${eta}`;
}

/** Entry point of the command: returns the exit code (0 ok, 1 failed, 2 bad command line, 130 interrupted). */
export async function run(argv: string[], io: CommandIo = defaultIo, signal?: AbortSignal): Promise<number> {
  let parsed: ReturnType<typeof evalOptionsFromArgs>;
  try {
    parsed = evalOptionsFromArgs(argv);
  } catch (error) {
    io.stderr(`kvbench eval: ${(error as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    io.stdout(`Usage: ${usage()}`);
    return 0;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  signal?.addEventListener('abort', onSigint);
  process.once('SIGINT', onSigint);
  let lastLine = 0;
  try {
    const result = await evaluate(
      parsed.options,
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (io.isTty) io.stderr(`\r${progressLine(p)}\x1b[K`);
          else if (Date.now() - lastLine > 5000 || p.itemsDone === p.itemsTotal) {
            lastLine = Date.now();
            io.stderr(progressLine(p) + '\n');
          }
        },
      },
      parsed.internal,
    );
    if (io.isTty) io.stderr('\n');
    io.stdout(parsed.json ? JSON.stringify(result, null, 2) + '\n' : formatResult(result));
    return 0;
  } catch (error) {
    if (io.isTty) io.stderr('\n');
    const e = error as Error;
    if (e.name === 'AbortError') {
      io.stderr('kvbench eval: interrupted\n');
      return 130;
    }
    io.stderr(`kvbench eval: ${flagError(e.message)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    signal?.removeEventListener('abort', onSigint);
  }
}

/** The registry's view of this command (commands/index.ts). ctx.out / ctx.err print whole lines. */
const command: Command = {
  summary: description,
  usage: usage().trimEnd(),
  run(argv: string[], ctx: CommandContext): Promise<number> {
    const line = (print: (t: string) => void) => (text: string) => print(text.replace(/\n$/, ''));
    return run(argv, {
      stdout: line(ctx.out),
      // An in-place progress line needs raw writes to the terminal.
      stderr: ctx.tty && process.stderr.isTTY ? (t) => void process.stderr.write(t) : line(ctx.err),
      isTty: ctx.tty && Boolean(process.stderr.isTTY),
    });
  },
};
export default command;
