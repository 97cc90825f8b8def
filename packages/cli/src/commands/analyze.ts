// `kvbench analyze`: the K/V norm-disparity diagnostics of one model, run locally (issue 6 item 1).
// Per layer: Frobenius and spectral norms of W_K and W_V (whole and per KV head); on a data sample, norms
// and singular-value spectra of the cached keys (post- and pre-RoPE) and values; with a quantizer
// (--kbits/--vbits/--backend/--group-size...), attention-level metrics per layer. Same engine function
// (runAnalysis) as the queue's analyze jobs.
import { AXES, BACKENDS, HQQ_MODES, META_DTYPES, type GroupAxis, type KvQuantConfig, type QuantizerConfig } from '@kvbench/quant';
import { BUNDLED_BENCHMARKS, DATA_FORMATS, runAnalysis, type AnalyzeOptions, type AnalyzeResult, type DataFormat } from '@kvbench/engine';
import { int, parse } from '../args';
import { UsageError, type Command, type CommandContext } from '../command';

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  format: { type: 'string' },
  benchmark: { type: 'string' },
  limit: { type: 'string' },
  'max-tokens': { type: 'string' },
  kbits: { type: 'string' },
  vbits: { type: 'string' },
  backend: { type: 'string' },
  'group-size': { type: 'string' },
  'key-group-size': { type: 'string' },
  'value-group-size': { type: 'string' },
  'key-axis': { type: 'string' },
  'value-axis': { type: 'string' },
  'meta-dtype': { type: 'string' },
  'hqq-mode': { type: 'string' },
  'no-data': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export const USAGE = `kvbench analyze --model <stories260k|dir|file> [--benchmark tinystories | --data <file> [--format text]] [flags]
  --model M              bundled name, llama2.c .bin, or Hugging Face directory (default stories260k)
  --benchmark B          a bundled text benchmark (${BUNDLED_BENCHMARKS.filter((b) => b.format === 'text').map((b) => b.name).join(', ')}); default tinystories
  --data FILE            a text file (documents split at blank lines) instead of --benchmark
  --no-data              weights only (no cache sample)
  --limit N              documents in the sample, default 20
  --max-tokens N         tokens per document (BOS included), default 128
  attention-level metrics (any of these turns them on):
  --kbits N --vbits N    key / value bits 1..8 (default 4 / 2)
  --backend ${BACKENDS.join('|')}  --group-size G (default 64) or --key-group-size G --value-group-size G
  --key-axis A --value-axis A (${AXES.join('|')})  --meta-dtype ${META_DTYPES.join('|')}  --hqq-mode ${HQQ_MODES.join('|')}
  --json                 the full result as JSON (layers[i].wk.frobenius, .k.singularValues, ...)`;

function choice<T extends string>(flag: string, v: string | undefined, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${flag}: got ${JSON.stringify(v)}, allowed: ${allowed.join(', ')}`);
  return v as T;
}

function positive(flag: string, v: string | undefined, fallback: number, min = 1): number {
  const n = int(flag, v) ?? fallback;
  if (n < min) throw new UsageError(`--${flag}: got ${n}, allowed: an integer >= ${min}`);
  return n;
}

function bitsFlag(flag: string, v: string | undefined, fallback: number): number {
  const n = int(flag, v) ?? fallback;
  if (n < 1 || n > 8) throw new UsageError(`--${flag}: got ${n}, allowed: integers 1..8 (leave the quantizer flags out for no quantizer)`);
  return n;
}

export function analyzeOptionsFromArgs(argv: string[]): { options: AnalyzeOptions; json: boolean; help: boolean } {
  const { values: v } = parse(argv, OPTIONS, false);
  if (v.help) return { options: undefined as never, json: false, help: true };
  if (v.data !== undefined && v.benchmark !== undefined) throw new UsageError('give either --data <file> or --benchmark <name>, not both');
  if (v['no-data'] && (v.data !== undefined || v.benchmark !== undefined)) throw new UsageError('--no-data excludes --data and --benchmark');
  const data: string | null = v['no-data'] ? null : (v.data ?? v.benchmark ?? 'tinystories');
  let format: DataFormat | undefined;
  if (v.benchmark !== undefined) {
    const b = BUNDLED_BENCHMARKS.find((x) => x.name === v.benchmark);
    if (!b || b.format !== 'text') {
      throw new UsageError(`--benchmark: got ${JSON.stringify(v.benchmark)}, allowed: ${BUNDLED_BENCHMARKS.filter((x) => x.format === 'text').map((x) => x.name).join(', ')}`);
    }
  } else if (v.data !== undefined) {
    format = choice('format', v.format, DATA_FORMATS as readonly DataFormat[], 'text');
  } else if (v.format !== undefined) throw new UsageError('--format goes with --data <file>');

  const quantFlags = ['kbits', 'vbits', 'backend', 'group-size', 'key-group-size', 'value-group-size', 'key-axis', 'value-axis', 'meta-dtype', 'hqq-mode'] as const;
  let quant: KvQuantConfig | null = null;
  if (quantFlags.some((f) => v[f] !== undefined)) {
    if (data === null) throw new UsageError('--kbits/--vbits (attention-level metrics) need a data sample; drop --no-data');
    const backend = choice('backend', v.backend, BACKENDS, 'quanto');
    const metaDtype = choice('meta-dtype', v['meta-dtype'], META_DTYPES, 'fp16');
    const hqqMode = choice('hqq-mode', v['hqq-mode'], HQQ_MODES, 'faithful');
    const group = positive('group-size', v['group-size'], 64);
    const side = (bits: number, axis: GroupAxis, groupSize: number): QuantizerConfig => ({ bits, backend, axis, groupSize, metaDtype, hqqMode });
    quant = {
      key: side(bitsFlag('kbits', v.kbits, 4), choice('key-axis', v['key-axis'], AXES, 'per-token'), positive('key-group-size', v['key-group-size'], group)),
      value: side(bitsFlag('vbits', v.vbits, 2), choice('value-axis', v['value-axis'], AXES, 'per-token'), positive('value-group-size', v['value-group-size'], group)),
    };
  }
  return {
    options: {
      model: v.model ?? 'stories260k',
      data,
      ...(format ? { format } : {}),
      limit: positive('limit', v.limit, 20),
      maxTokens: positive('max-tokens', v['max-tokens'], 128, 2),
      quant,
    },
    json: Boolean(v.json),
    help: false,
  };
}

const f = (x: number | undefined, digits = 4) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** The readable report: norms per layer, top singular values, attention metrics, the verdict. */
export function formatAnalysis(r: AnalyzeResult): string {
  const m = r.model;
  const lines = [
    `model    ${m.name} (${m.architecture}, ${m.layers} layers, ${m.heads} heads, ${m.kvHeads} KV heads x ${m.headDim}, weights ${m.weightsHash.slice(0, 12)})`,
    r.benchmark ? `sample   ${r.benchmark.name}: ${r.documents} documents, ${r.tokens} tokens (data ${r.benchmark.dataHash.slice(0, 12)})` : 'sample   none (weights only)',
    '',
    ...table(
      ['layer', '|W_K|_F', '|W_V|_F', '|W_K|_2', '|W_V|_2', '|K|_F', '|V|_F', '|K pre-RoPE|_F', '|K|_2', '|V|_2'],
      r.layers.map((l) => [
        String(l.layer),
        f(l.wk.frobenius, 6),
        f(l.wv.frobenius, 6),
        f(l.wk.spectral, 6),
        f(l.wv.spectral, 6),
        f(l.k?.frobenius, 2),
        f(l.v?.frobenius, 2),
        f(l.kPreRope?.frobenius, 2),
        f(l.k?.spectral, 2),
        f(l.v?.spectral, 2),
      ]),
    ),
  ];
  if (r.layers.some((l) => l.k)) {
    const top = (s: number[] | undefined) => (s ? s.slice(0, 4).map((x) => x.toFixed(1)).join(' ') : '-');
    lines.push('', ...table(['layer', 'K singular values (top 4)', 'V singular values (top 4)'], r.layers.map((l) => [String(l.layer), top(l.k?.singularValues), top(l.v?.singularValues)])));
  }
  if (r.layers.some((l) => l.attention) && r.quant) {
    const q = r.quant;
    lines.push(
      '',
      `attention with K${q.key.bits}V${q.value.bits} ${q.key.backend} (K ${q.key.axis} G=${q.key.groupSize}, V ${q.value.axis} G=${q.value.groupSize}), whole sample quantized, no residual`,
      ...table(
        ['layer', 'KL mean', 'KL max', 'rel. err K', 'rel. err V', 'rel. err output'],
        r.layers.map((l) => {
          const a = l.attention!;
          return [String(l.layer), f(a.klMean, 5), f(a.klMax, 4), f(a.keyRelativeError), f(a.valueRelativeError), f(a.outputRelativeError)];
        }),
      ),
    );
  }
  lines.push('', r.verdictLine);
  return lines.join('\n');
}

export async function runAnalyze(argv: string[], ctx: Pick<CommandContext, 'out' | 'err'>): Promise<number> {
  const parsed = analyzeOptionsFromArgs(argv);
  if (parsed.help) {
    ctx.out(`Usage: ${USAGE}`);
    return 0;
  }
  const result = await runAnalysis(parsed.options);
  ctx.out(parsed.json ? JSON.stringify(result, null, 2) : formatAnalysis(result));
  return 0;
}

const command: Command = {
  summary: 'K/V norms and singular-value spectra of a model (weights and cache), locally',
  usage: USAGE,
  run: (argv, ctx) => runAnalyze(argv, ctx),
};
export default command;
