// Synthetic leaderboard content: the stories260K reference numbers as real-looking runs, plus any number
// of generated runs across the known models, benchmarks and bit splits (bulk inserted, 1000 rows a statement).
import { createHash, randomUUID } from 'node:crypto';
import { schema, type Db, type NewRun } from '@kvbench/db';
import { KNOWN_MODELS, fp16KvBytesPerToken } from '@kvbench/protocol';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** ../shared/spec/reference-stories260k.md: config, perplexity, KL, top-1, KV bytes/token. */
export const STORIES_REFERENCE: { bits: [number, number]; backend: 'quanto' | 'hqq' | null; keyAxis: 'per-token' | 'per-channel'; ppl: number; kl: number; top1: number; bytes: number }[] = [
  { bits: [16, 16], backend: null, keyAxis: 'per-token', ppl: 3.6143, kl: 0, top1: 1, bytes: 640 },
  { bits: [8, 8], backend: 'quanto', keyAxis: 'per-token', ppl: 3.6142, kl: 0.00008, top1: 0.9962, bytes: 480 },
  { bits: [4, 4], backend: 'quanto', keyAxis: 'per-token', ppl: 3.7849, kl: 0.04294, top1: 0.9364, bytes: 320 },
  { bits: [4, 2], backend: 'quanto', keyAxis: 'per-token', ppl: 3.7877, kl: 0.05103, top1: 0.9232, bytes: 280 },
  { bits: [2, 4], backend: 'quanto', keyAxis: 'per-token', ppl: 76.9515, kl: 3.05136, top1: 0.2353, bytes: 280 },
  { bits: [2, 2], backend: 'quanto', keyAxis: 'per-token', ppl: 81.1957, kl: 3.09113, top1: 0.2249, bytes: 240 },
  { bits: [3, 3], backend: 'quanto', keyAxis: 'per-token', ppl: 4.9156, kl: 0.30698, top1: 0.8042, bytes: 280 },
  { bits: [4, 2], backend: 'quanto', keyAxis: 'per-channel', ppl: 3.6241, kl: 0.00774, top1: 0.966, bytes: 220 },
  { bits: [2, 4], backend: 'quanto', keyAxis: 'per-channel', ppl: 4.4217, kl: 0.17605, top1: 0.8376, bytes: 220 },
  { bits: [2, 2], backend: 'quanto', keyAxis: 'per-channel', ppl: 4.442, kl: 0.18062, top1: 0.8387, bytes: 180 },
  { bits: [4, 2], backend: 'hqq', keyAxis: 'per-token', ppl: 3.733, kl: 0.03888, top1: 0.9314, bytes: 280 },
  { bits: [2, 4], backend: 'hqq', keyAxis: 'per-token', ppl: 62.7898, kl: 2.86479, top1: 0.2556, bytes: 280 },
  { bits: [2, 2], backend: 'hqq', keyAxis: 'per-token', ppl: 65.0882, kl: 2.89788, top1: 0.2573, bytes: 240 },
];

interface Seeded {
  run: NewRun;
  metrics: { name: string; value: number; stderr: number | null }[];
}

function runRow(c: {
  model: string; benchmark: string; protocol: string; keyBits: number; valueBits: number; backend: string | null;
  keyAxis: string | null; valueAxis: string | null; keyGroupSize: number | null; valueGroupSize: number | null; residualLength: number | null;
  limit: number; metric: string; value: number; stderr: number | null; kvBytesPerToken: number; fp16BytesPerToken: number; tokensPerSecond: number; finishedAt: Date;
}): NewRun {
  const config = { model: c.model, benchmark: c.benchmark, protocol: c.protocol, keyBits: c.keyBits, valueBits: c.valueBits, backend: c.backend, keyAxis: c.keyAxis, valueAxis: c.valueAxis, keyGroupSize: c.keyGroupSize, valueGroupSize: c.valueGroupSize, residualLength: c.residualLength, limit: c.limit, provider: 'cpu', seeded: true };
  return {
    id: randomUUID(), hash: sha(JSON.stringify(config)), config, model: c.model, benchmark: c.benchmark, protocol: c.protocol,
    keyBits: c.keyBits, valueBits: c.valueBits, backend: c.backend, keyGroupSize: c.keyGroupSize, valueGroupSize: c.valueGroupSize,
    keyAxis: c.keyAxis, valueAxis: c.valueAxis, residualLength: c.residualLength, limit: c.limit, provider: 'cpu', deviceClass: 'cpu',
    status: 'succeeded', attempts: 1, createdAt: c.finishedAt, queuedAt: c.finishedAt, startedAt: c.finishedAt, finishedAt: c.finishedAt, updatedAt: c.finishedAt,
    itemsDone: c.limit, itemsTotal: c.limit, tokensPerSecond: c.tokensPerSecond, etaSeconds: 0, providerUsed: 'cpu', device: 'seeded',
    versions: { seeded: 'bench/web' }, modelArchitecture: 'llama', weightsHash: sha(c.model).slice(0, 16), dataHash: sha(c.benchmark).slice(0, 16), benchmarkItems: c.limit,
    primaryMetric: c.metric, primaryValue: c.value, primaryStderr: c.stderr, kvBytesPerToken: c.kvBytesPerToken, fp16BytesPerToken: c.fp16BytesPerToken,
    ratioToFp16: c.kvBytesPerToken / c.fp16BytesPerToken, wallSeconds: 10 + (c.limit * 200) / c.tokensPerSecond, nonFinite: 0,
  };
}

/** The reference table as stored runs (protocol ppl-decode, limit 40, groups of 8, residual 32). */
export function storiesReferenceRuns(now = Date.now()): Seeded[] {
  return STORIES_REFERENCE.map((r, i) => {
    const full = r.backend === null;
    const run = runRow({
      model: 'stories260k', benchmark: 'tinystories', protocol: 'ppl-decode', keyBits: r.bits[0], valueBits: r.bits[1], backend: r.backend,
      keyAxis: full ? null : r.keyAxis, valueAxis: full ? null : 'per-token', keyGroupSize: full ? null : r.keyAxis === 'per-channel' ? 32 : 8, valueGroupSize: full ? null : 8,
      residualLength: full ? null : 32, limit: 40, metric: 'perplexity', value: r.ppl, stderr: null, kvBytesPerToken: r.bytes, fp16BytesPerToken: 640,
      tokensPerSecond: 900 + 37 * i, finishedAt: new Date(now - i * 60_000),
    });
    return {
      run,
      metrics: [
        { name: 'perplexity', value: r.ppl, stderr: null },
        { name: 'perplexityFp', value: 3.6143, stderr: null },
        { name: 'kl', value: r.kl, stderr: null },
        { name: 'top1', value: r.top1, stderr: null },
        { name: 'scoredTokens', value: 1823, stderr: null },
      ],
    };
  });
}

const BENCHES = [
  { name: 'wikitext2', protocol: 'ppl-decode', metric: 'perplexity' },
  { name: 'tinystories', protocol: 'ppl-decode', metric: 'perplexity' },
  { name: 'gsm8k', protocol: 'gen-exact', metric: 'accuracy' },
  { name: 'hellaswag', protocol: 'mc-decode', metric: 'accuracy' },
  { name: 'arc-easy', protocol: 'mc-decode', metric: 'accuracy' },
];
const BITS = [1, 2, 3, 4, 5, 6, 8];
const GROUPS = [32, 64, 128];
const AXES = ['per-token', 'per-channel'] as const;
const RESIDUALS = [0, 32, 128];
const BACKENDS = ['quanto', 'hqq'] as const;

/**
 * `count` generated runs, distinct configs, spread over models x benchmarks x bits x settings x item
 * limits. Quality follows the paper's shape: losing key bits hurts far more than losing value bits.
 */
export function generatedRuns(count: number, now = Date.now()): Seeded[] {
  const out: Seeded[] = [];
  const models = KNOWN_MODELS.filter((m) => m.name !== 'stories260k');
  let i = 0;
  for (let limit = 20; out.length < count; limit += 10) {
    for (const m of models) {
      const fp16 = fp16KvBytesPerToken(m);
      for (const b of BENCHES) {
        const base = b.metric === 'perplexity' ? 4 + 60 / Math.log2(m.params) : 0.3 + 0.02 * Math.log2(m.params / 1e8);
        const push = (keyBits: number, valueBits: number, backend: string | null, keyAxis: string | null, g: number | null, residual: number | null) => {
          if (out.length >= count) return;
          const full = backend === null;
          const damage = full ? 0 : 1.6 * 2 ** -(keyBits + (keyAxis === 'per-channel' ? 1.5 : 0)) * 8 + 0.35 * 2 ** -valueBits * 8 + (g ?? 0) / 2000 + (backend === 'hqq' ? -0.02 : 0);
          const value = b.metric === 'perplexity' ? base * Math.exp(damage * 0.5) : Math.max(0.05, base - damage * 0.08);
          const perTok = full ? fp16 : (m.layers * m.kvHeads * m.headDim * (keyBits + 32 / g! + valueBits + 32 / g!)) / 8;
          out.push({
            run: runRow({
              model: m.name, benchmark: b.name, protocol: b.protocol, keyBits, valueBits, backend, keyAxis, valueAxis: full ? null : 'per-token',
              keyGroupSize: g, valueGroupSize: g, residualLength: residual, limit, metric: b.metric, value, stderr: b.metric === 'accuracy' ? Math.sqrt((value * (1 - value)) / limit) : value * 0.01,
              kvBytesPerToken: perTok, fp16BytesPerToken: fp16, tokensPerSecond: 20 + (3e10 / m.params) * (1 + (i++ % 7) / 10), finishedAt: new Date(now - out.length * 1000),
            }),
            metrics: [],
          });
        };
        push(16, 16, null, null, null, null);
        for (const backend of BACKENDS)
          for (const keyBits of BITS)
            for (const valueBits of BITS)
              for (const keyAxis of AXES)
                for (const g of GROUPS)
                  for (const residual of RESIDUALS) push(keyBits, valueBits, backend, keyAxis, g, residual);
        if (out.length >= count) return out;
      }
    }
  }
  return out;
}

/** Multi-row inserts of 1000 runs each (the bind-parameter limit allows ~1300), four statements in flight. */
export async function insertSeeded(db: Db, seeded: Seeded[], parallel = 4): Promise<void> {
  const chunks: Seeded[][] = [];
  for (let i = 0; i < seeded.length; i += 1000) chunks.push(seeded.slice(i, i + 1000));
  let next = 0;
  const lane = async () => {
    for (let c = next++; c < chunks.length; c = next++) {
      const chunk = chunks[c];
      await db.insert(schema.runs).values(chunk.map((s) => s.run)).onConflictDoNothing();
      const metrics = chunk.flatMap((s) => s.metrics.map((m) => ({ runId: s.run.id!, ...m })));
      if (metrics.length) await db.insert(schema.runMetrics).values(metrics).onConflictDoNothing();
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}
