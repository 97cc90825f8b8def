// Reproduces the stories260K reference table (../shared/spec/reference-stories260k.md) through
// evaluate(): ppl-decode, --limit 40 --prompt 64 --max-tokens 192, quantize-all, residual 32 append.
// Usage: npx tsx bench/engine/reference-table.ts [--engine reference|onnx] [--rows fp,k4v2,...]
// Writes bench/results/stories260k-reference[-onnx].md and prints the table.
//
// The independent reference computed the quantizer in float64 with unrounded scale and zero but counts
// KV bytes with fp16 metadata. So quality columns run with metaDtype fp32 (matching its arithmetic) and
// the bytes column is measured from the packed buffers of a one-document run with fp16 metadata.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { evaluate, type EvalOptions, type SessionEngine } from '../../packages/engine/src/index';
import type { KvQuantConfig, MetaDtype, QuantBackend, GroupAxis } from '@kvbench/quant';

interface Row {
  id: string;
  label: string;
  quant: ((meta: MetaDtype) => KvQuantConfig) | null;
  expected: { ppl: number; kl: number; top1: number; bytes: number };
}

const q = (bits: number, backend: QuantBackend, axis: GroupAxis, groupSize: number, metaDtype: MetaDtype) => ({ bits, backend, axis, groupSize, metaDtype, hqqMode: 'faithful' as const });
const perToken = (kb: number, vb: number, backend: QuantBackend = 'quanto') => (meta: MetaDtype) => ({ key: q(kb, backend, 'per-token', 8, meta), value: q(vb, backend, 'per-token', 8, meta) });
const perChannelK = (kb: number, vb: number) => (meta: MetaDtype) => ({ key: q(kb, 'quanto', 'per-channel', 32, meta), value: q(vb, 'quanto', 'per-token', 8, meta) });

/** The reference table, verbatim. */
export const REFERENCE_ROWS: Row[] = [
  { id: 'fp', label: 'full precision (fp32 cache)', quant: null, expected: { ppl: 3.6143, kl: 0, top1: 1, bytes: 640 } },
  { id: 'k8v8', label: 'quanto K8V8 per-token', quant: perToken(8, 8), expected: { ppl: 3.6142, kl: 0.00008, top1: 0.9962, bytes: 480 } },
  { id: 'k4v4', label: 'quanto K4V4 per-token', quant: perToken(4, 4), expected: { ppl: 3.7849, kl: 0.04294, top1: 0.9364, bytes: 320 } },
  { id: 'k4v2', label: 'quanto K4V2 per-token', quant: perToken(4, 2), expected: { ppl: 3.7877, kl: 0.05103, top1: 0.9232, bytes: 280 } },
  { id: 'k2v4', label: 'quanto K2V4 per-token', quant: perToken(2, 4), expected: { ppl: 76.9515, kl: 3.05136, top1: 0.2353, bytes: 280 } },
  { id: 'k2v2', label: 'quanto K2V2 per-token', quant: perToken(2, 2), expected: { ppl: 81.1957, kl: 3.09113, top1: 0.2249, bytes: 240 } },
  { id: 'k3v3', label: 'quanto K3V3 per-token', quant: perToken(3, 3), expected: { ppl: 4.9156, kl: 0.30698, top1: 0.8042, bytes: 280 } },
  { id: 'k4v2-pc', label: 'quanto K4V2 per-channel K', quant: perChannelK(4, 2), expected: { ppl: 3.6241, kl: 0.00774, top1: 0.966, bytes: 220 } },
  { id: 'k2v4-pc', label: 'quanto K2V4 per-channel K', quant: perChannelK(2, 4), expected: { ppl: 4.4217, kl: 0.17605, top1: 0.8376, bytes: 220 } },
  { id: 'k2v2-pc', label: 'quanto K2V2 per-channel K', quant: perChannelK(2, 2), expected: { ppl: 4.442, kl: 0.18062, top1: 0.8387, bytes: 180 } },
  { id: 'hqq-k4v2', label: 'hqq K4V2 per-token', quant: perToken(4, 2, 'hqq'), expected: { ppl: 3.733, kl: 0.03888, top1: 0.9314, bytes: 280 } },
  { id: 'hqq-k2v4', label: 'hqq K2V4 per-token', quant: perToken(2, 4, 'hqq'), expected: { ppl: 62.7898, kl: 2.86479, top1: 0.2556, bytes: 280 } },
  { id: 'hqq-k2v2', label: 'hqq K2V2 per-token', quant: perToken(2, 2, 'hqq'), expected: { ppl: 65.0882, kl: 2.89788, top1: 0.2573, bytes: 240 } },
];

export function referenceOptions(quant: KvQuantConfig | null, limit = 40): EvalOptions {
  return {
    model: 'stories260k',
    data: 'tinystories',
    protocol: 'ppl-decode',
    prompt: 64,
    maxTokens: 192,
    limit,
    cache: { quant, residualLength: 32, prefill: 'quantize-all', residualMode: 'append', mode: 'packed' },
    provider: 'cpu',
  };
}

/**
 * Agreement with a printed reference value: within `relative` of it, or within half a unit of its last
 * printed digit (KL 0.00008 is 0.000075..0.000085, so a relative error says nothing there).
 */
export function agrees(ours: number, reference: number, decimals: number, relative = 1e-3): boolean {
  return Math.abs(ours - reference) <= Math.max(relative * Math.abs(reference), 0.5 * 10 ** -decimals);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const engine = (args.includes('--engine') ? args[args.indexOf('--engine') + 1] : 'reference') as SessionEngine;
  const rowsArg = args.includes('--rows') ? args[args.indexOf('--rows') + 1].split(',') : null;
  const rows = REFERENCE_ROWS.filter((r) => !rowsArg || rowsArg.includes(r.id));
  const lines = [
    '| config | ppl (ref) | KL (ref) | top-1 (ref) | KV bytes/token (ref) | agrees | seconds |',
    '|---|---|---|---|---|---|---|',
  ];
  const started = Date.now();
  for (const row of rows) {
    const t0 = performance.now();
    const r = await evaluate(referenceOptions(row.quant ? row.quant('fp32') : null), {}, { engine });
    const bytes = row.quant
      ? (await evaluate(referenceOptions(row.quant('fp16'), 1), {}, { engine })).memory.kvBytesPerToken
      : r.memory.kvBytesPerToken;
    const m = r.metrics;
    const e = row.expected;
    const ok =
      agrees(m.perplexity!, e.ppl, 4) && agrees(m.kl!, e.kl, 5) && agrees(m.top1!, e.top1, 4, 0) && bytes === e.bytes && m.scoredTokens === 1823;
    const line =
      `| ${row.label} | ${m.perplexity!.toFixed(4)} (${e.ppl.toFixed(4)}) | ${m.kl!.toFixed(5)} (${e.kl.toFixed(5)}) | ` +
      `${m.top1!.toFixed(4)} (${e.top1.toFixed(4)}) | ${bytes} (${e.bytes}) | ${ok ? 'yes' : 'NO'} | ${((performance.now() - t0) / 1000).toFixed(1)} |`;
    lines.push(line);
    console.log(line);
    if (m.scoredTokens !== 1823) console.log(`  scored tokens ${m.scoredTokens}, expected 1823`);
  }
  const doc = [
    `# stories260K through a quantized cache: kvbench vs the independent reference`,
    '',
    `Engine: ${engine} sessions. Protocol ppl-decode, tinystories, --limit 40 --prompt 64 --max-tokens 192, quantize-all,`,
    `residual 32 append; quanto/HQQ per-token G=8, per-channel K = KIVI groups of 32 tokens. Reference values in`,
    `parentheses (../shared/spec/reference-stories260k.md). Quality columns use fp32 scale/zero (the reference's float`,
    `arithmetic); KV bytes are measured from the packed buffers with fp16 scale/zero (the reference's accounting).`,
    `"agrees": ppl within 1e-3 relative, KL within 1e-3 relative or the rounding of its printed digits, top-1 to the printed`,
    `4 decimals, bytes exact, 1823 scored tokens. "seconds": wall time of the row (both sessions and the one-document bytes`,
    `run) on a shared machine, not a speed measurement. Generated by \`npx tsx bench/engine/reference-table.ts${engine === 'onnx' ? ' --engine onnx' : ''}\`` +
      ` on ${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), ${new Date(started).toISOString()}.`,
    '',
    ...lines,
    '',
  ].join('\n');
  const out = fileURLToPath(new URL(`../results/stories260k-reference${engine === 'onnx' ? '-onnx' : ''}.md`, import.meta.url));
  mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
  if (!rowsArg) writeFileSync(out, doc);
  console.log(rowsArg ? '(subset: not written)' : `wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
