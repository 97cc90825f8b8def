// docs/findings.md (issue 6 item 6): the key-first grid, the budget mode at 3 and 4 average bits and the
// TurboQuant schemes at 2, 3 and 4 bits, on stories260K and two random-weight seed architectures, run
// through the queue exactly as users run them: sweeps submitted to the API layer, jobs on Redis (BullMQ),
// an inference worker, results in the database; the tables are read back from the database.
//
//   npx tsx scripts/findings.ts [--out docs/findings.md] [--limit 6] [--prompt 32] [--max-tokens 96]
//
// Env: REDIS_URL (default 127.0.0.1:6379; a fresh queue prefix is used), DATABASE_URL (default: a fresh
// embedded PGlite in a temp dir). Random-weight models are generated under .kvbench/findings-models.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/findings.md' },
    limit: { type: 'string', default: '6' },
    prompt: { type: 'string', default: '32' },
    'max-tokens': { type: 'string', default: '96' },
    models: { type: 'string', default: 'stories260k,Llama-3.2-1B,Qwen3-0.6B' },
  },
});
if (!process.env.DATABASE_URL && !process.env.KVBENCH_DATA_DIR) process.env.KVBENCH_DATA_DIR = mkdtempSync(path.join(tmpdir(), 'kvbench-findings-'));
const { generateRandomModel } = await import('@kvbench/engine');
const { openDb, setDb, getSweep, getRunDetail, keyFirstComparison } = await import('@kvbench/db');
const { RunQueues, startInferenceWorker } = await import('@kvbench/inference-worker');
const { runLabel } = await import('@kvbench/protocol');
const { submitSweep } = await import('../apps/web/lib/runs');

const int = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: got ${JSON.stringify(text)}, allowed: an integer >= 1`);
  return n;
};
const base = { prompt: int('prompt', values.prompt!), maxTokens: int('max-tokens', values['max-tokens']!), limit: int('limit', values.limit!) };
const RESIDUAL = 32;
const log = (line: string) => console.log(`[findings] ${line}`);

/** Random-weight seed architectures: the real widths, heads and head size, fewer layers and a small vocabulary. */
const RANDOM: Record<string, { layers: number; vocabSize: number; groupSize: number }> = {
  'Llama-3.2-1B': { layers: 2, vocabSize: 2048, groupSize: 32 },
  'Qwen3-0.6B': { layers: 4, vocabSize: 2048, groupSize: 32 },
};
interface FindingsModel {
  label: string;
  model: string;
  groupSize: number;
  note: string;
}
const models: FindingsModel[] = values.models!.split(',').map((name) => {
  if (name === 'stories260k') return { label: 'stories260K', model: 'stories260k', groupSize: 8, note: 'pretrained (llama2.c, 5 layers, 4 KV heads, head_dim 8)' };
  const r = RANDOM[name];
  if (!r) throw new Error(`--models: ${name} is not one of stories260k, ${Object.keys(RANDOM).join(', ')}`);
  const dir = path.join(ROOT, '.kvbench', 'findings-models', name);
  const g = generateRandomModel({ preset: name as 'Llama-3.2-1B', outDir: dir, seed: 1, layers: r.layers, vocabSize: r.vocabSize });
  const c = g.config;
  return { label: `${name} (random)`, model: dir, groupSize: r.groupSize, note: `random weights, real widths (hidden ${c.hiddenSize}, ${c.heads} heads, ${c.kvHeads} KV heads, head_dim ${c.headDim}${c.qkNorm ? ', QK-norm' : ''}), ${c.layers} layers, vocab ${c.vocabSize}` };
});

const db = await openDb();
setDb(db);
const prefix = `kvbench-findings-${process.pid}`;
const queues = new RunQueues({ prefix });
const worker = await startInferenceWorker({ db: db.db, deviceClass: 'cpu', prefix, log: () => {} });
log(`database ${db.kind} ${db.location}; queue prefix ${prefix}; one cpu worker`);

const TEMPLATES = ['key-first', 'budget', 'turbo'] as const;
const sweeps: { model: FindingsModel; template: (typeof TEMPLATES)[number]; id: string }[] = [];
for (const m of models) {
  for (const template of TEMPLATES) {
    const r = await submitSweep({ db: db.db, queues }, { name: `findings: ${m.label} ${template}`, template, models: [m.model], benchmarks: ['tinystories'], groupSizes: [m.groupSize], residualLengths: [RESIDUAL], base });
    sweeps.push({ model: m, template, id: r.id });
    log(`${m.label} ${template}: ${r.cells} cells (sweep ${r.id})`);
  }
}

const started = Date.now();
for (;;) {
  let open = 0;
  let done = 0;
  let failed = 0;
  for (const s of sweeps) {
    const v = (await getSweep(db.db, s.id))!;
    open += v.counts.queued + v.counts.running;
    done += v.counts.succeeded;
    failed += v.counts.failed + v.counts.cancelled;
  }
  log(`${done} done, ${failed} failed, ${open} to go (${((Date.now() - started) / 60000).toFixed(1)} min)`);
  if (open === 0) break;
  await new Promise((r) => setTimeout(r, 15000));
}
await worker.drain();

// ---------- tables ----------
const fmt = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(digits) : x.toExponential(2));
const metricOf = (d: NonNullable<Awaited<ReturnType<typeof getRunDetail>>>, name: string) => d.metrics.find((m) => m.name === name)?.value ?? null;
const meanLayer = (d: NonNullable<Awaited<ReturnType<typeof getRunDetail>>>, metric: string, tensor: 'k' | 'v') => {
  const xs = d.layerStats.filter((s) => s.metric === metric && s.tensor === tensor).map((s) => s.value);
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
};

const out: string[] = [];
out.push('# Findings: key-first allocation, layer-wise budgets and TurboQuant');
out.push('');
out.push(`Generated by \`${`npx tsx scripts/findings.ts ${process.argv.slice(2).join(" ")}`.trim()}\` on ${cpus()[0]?.model.trim()} (${cpus().length} cores), ${new Date().toISOString()}. Every number below comes from runs submitted as sweeps (templates \`key-first\`, \`budget\`, \`turbo\`), queued on Redis, executed by the inference worker (ONNX Runtime, cpu, packed cache) and read back from the database.`);
out.push('');
out.push(`Protocol: ppl-decode on the bundled TinyStories validation sample, ${base.limit} documents, ${base.prompt}-token prefill, decode to ${base.maxTokens} tokens (${base.maxTokens - base.prompt} scored tokens per document), residual ${RESIDUAL} tokens, quantize-all prefill, append mode; quanto per-token groups (size given per model), fp16 scales. KL = mean KL(p_fp || p_quantized) per scored token against the full-precision cache of the same run; attention KL = mean over layers of the attention-distribution KL on a 64-token sample (stored per layer with the run).`);
out.push('');
for (const m of models) {
  out.push(`## ${m.label}`);
  out.push('');
  out.push(`${m.note}; group size ${m.groupSize}.`);
  out.push('');
  for (const s of sweeps.filter((x) => x.model === m)) {
    const view = (await getSweep(db.db, s.id))!;
    const details = (await Promise.all(view.cells.map((c) => getRunDetail(db.db, c.id)))).filter((d) => d !== undefined);
    if (s.template === 'key-first') {
      const report = (await keyFirstComparison(db.db, s.id))!;
      out.push('### Key-first grid (K in {2,3,4,8} x V in {2,3,4,8})');
      out.push('');
      out.push('| K\\V | ' + [2, 3, 4, 8].map((v) => `V${v}`).join(' | ') + ' |');
      out.push('|---|---:|---:|---:|---:|');
      for (const k of [2, 3, 4, 8]) {
        const row = [2, 3, 4, 8].map((v) => {
          const d = details.find((x) => x.run.keyBits === k && x.run.valueBits === v);
          return d && d.run.status === 'succeeded' ? `ppl ${fmt(d.run.primaryValue, 3)}, KL ${fmt(metricOf(d, 'kl'))}` : d ? d.run.status : '—';
        });
        out.push(`| K${k} | ${row.join(' | ')} |`);
      }
      out.push('');
      out.push('Each pair (b, b\') with b > b\' against its mirror (b\', b): the same bits in total, given to keys first or to values first. Difference = perplexity(K-first) - perplexity(V-first) with its paired standard error over documents (delta method on per-document NLL).');
      out.push('');
      out.push('| K-first | V-first | ppl K-first | ppl V-first | difference ± stderr | K-first better (ppl)? | KL K-first | KL V-first | K-first better (KL)? |');
      out.push('|---|---|---:|---:|---:|---|---:|---:|---|');
      let klWins = 0;
      for (const p of report.pairs) {
        const dk = details.find((d) => d.run.id === p.keyFirst.runId)!;
        const dv = details.find((d) => d.run.id === p.valueFirst.runId)!;
        const sig = p.difference !== null && p.stderr ? ` (${(Math.abs(p.difference) / p.stderr).toFixed(1)} se)` : '';
        const [klK, klV] = [metricOf(dk, 'kl'), metricOf(dv, 'kl')];
        const klBetter = klK !== null && klV !== null ? klK < klV : null;
        if (klBetter) klWins++;
        out.push(`| K${p.keyFirst.keyBits}V${p.keyFirst.valueBits} | K${p.valueFirst.keyBits}V${p.valueFirst.valueBits} | ${fmt(p.keyFirst.value, 3)} | ${fmt(p.valueFirst.value, 3)} | ${fmt(p.difference)} ± ${fmt(p.stderr)}${sig} | ${p.keyFirstBetter === null ? '—' : p.keyFirstBetter ? 'yes' : 'no'} | ${fmt(klK)} | ${fmt(klV)} | ${klBetter === null ? '—' : klBetter ? 'yes' : 'no'} |`);
      }
      out.push('');
      out.push(`K-first better in ${report.summary.keyFirstBetter} of ${report.summary.compared} pairs by perplexity, in ${klWins} of ${report.pairs.length} by KL to the full-precision cache.`);
      out.push('');
    } else {
      out.push(s.template === 'budget' ? '### Budget mode (norm-aware per-layer bits) against uniform bits' : '### TurboQuant schemes against the grouped quanto cache at the same bits');
      out.push('');
      const budget = s.template === 'budget';
      out.push(`| run | ppl | KL | top-1 | KV bytes/token | x fp16 | attention KL | ${budget ? 'K bits per layer | V bits per layer | stored bits/elem (dense, HQQ)' : 'K rel. error | V rel. error'} |`);
      out.push(`|---|---:|---:|---:|---:|---:|---:|${budget ? '---|---|---|' : '---:|---:|'}`);
      for (const d of details) {
        if (d.run.status !== 'succeeded') {
          out.push(`| ${runLabel(d.run.config as never)} | ${d.run.status}: ${d.run.error ?? ''} |`);
          continue;
        }
        const perLayer = (tensor: 'k' | 'v') => d.layerStats.filter((x) => x.metric === 'alloc.bits' && x.tensor === tensor).map((x) => x.value).join(', ');
        const tail = budget
          ? `${perLayer('k') || '—'} | ${perLayer('v') || '—'} | ${metricOf(d, 'alloc.storedBitsPerElement') !== null ? `${fmt(metricOf(d, 'alloc.storedBitsPerElement'), 2)}, ${fmt(metricOf(d, 'alloc.storedBitsPerElementHqq'), 2)}` : '—'}`
          : `${fmt(meanLayer(d, 'attn.relError', 'k'), 3)} | ${fmt(meanLayer(d, 'attn.relError', 'v'), 3)}`;
        out.push(`| ${runLabel(d.run.config as never)} | ${fmt(d.run.primaryValue, 3)} | ${fmt(metricOf(d, 'kl'))} | ${fmt(metricOf(d, 'top1'), 3)} | ${fmt(d.run.kvBytesPerToken, 0)} | ${fmt(d.run.ratioToFp16, 3)} | ${fmt(meanLayer(d, 'attn.klMean', 'k'))} | ${tail} |`);
      }
      out.push('');
    }
  }
}
// What people wrote about the numbers (below the marker) survives a regeneration.
const NOTES = '<!-- notes: kept by scripts/findings.ts -->';
const file = path.resolve(ROOT, values.out!);
const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
const notes = previous.includes(NOTES) ? previous.slice(previous.indexOf(NOTES)) : `${NOTES}\n`;
writeFileSync(file, out.join('\n') + '\n' + notes);
log(`wrote ${file} in ${((Date.now() - started) / 60000).toFixed(1)} min`);
await queues.close();
await db.close();
process.exit(0);
