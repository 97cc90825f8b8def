// The single source of the database's shape and of its TypeScript types (pg-core: the same schema
// serves node-postgres and embedded PGlite).
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const models = pgTable('models', {
  name: text('name').primaryKey(),
  family: text('family'),
  architecture: text('architecture'),
  layers: integer('layers'),
  kvHeads: integer('kv_heads'),
  headDim: integer('head_dim'),
  params: doublePrecision('params'),
  weightsHash: text('weights_hash'),
  createdAt: createdAt(),
});

export const benchmarks = pgTable('benchmarks', {
  name: text('name').primaryKey(),
  protocol: text('protocol').notNull(),
  format: text('format'),
  dataHash: text('data_hash'),
  items: integer('items'),
  createdAt: createdAt(),
});

export const sweeps = pgTable('sweeps', {
  id: text('id').primaryKey(),
  name: text('name'),
  /** the spec as submitted (after validation and defaults) */
  spec: jsonb('spec').notNull(),
  /** resubmitting the same spec returns the same sweep */
  specHash: text('spec_hash').notNull().unique(),
  cellCount: integer('cell_count').notNull(),
  createdAt: createdAt(),
});

export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    /** sha256 of the canonical config; also the BullMQ job id */
    hash: text('hash').notNull(),
    config: jsonb('config').notNull(),
    // The canonical config's main fields, as columns for filtering and the leaderboard.
    model: text('model').notNull(),
    benchmark: text('benchmark').notNull(),
    protocol: text('protocol').notNull(),
    keyBits: integer('key_bits').notNull(),
    valueBits: integer('value_bits').notNull(),
    backend: text('backend'),
    keyGroupSize: integer('key_group_size'),
    valueGroupSize: integer('value_group_size'),
    keyAxis: text('key_axis'),
    valueAxis: text('value_axis'),
    residualLength: integer('residual_length'),
    limit: integer('limit').notNull(),
    /** the execution provider asked for */
    provider: text('provider').notNull(),
    deviceClass: text('device_class'),
    // Lifecycle.
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    error: text('error'),
    /** 'config' | 'oom' | 'transient' | 'cancelled' | 'stalled' */
    errorKind: text('error_kind'),
    workerId: text('worker_id'),
    createdAt: createdAt(),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    // Progress (also on the BullMQ job; the row is the truth the dashboard reads).
    itemsDone: integer('items_done'),
    itemsTotal: integer('items_total'),
    tokensDone: bigint('tokens_done', { mode: 'number' }),
    tokensPerSecond: doublePrecision('tokens_per_second'),
    etaSeconds: doublePrecision('eta_seconds'),
    // Provenance and results (filled when the run succeeds).
    providerUsed: text('provider_used'),
    device: text('device'),
    versions: jsonb('versions'),
    modelArchitecture: text('model_architecture'),
    weightsHash: text('weights_hash'),
    dataHash: text('data_hash'),
    benchmarkItems: integer('benchmark_items'),
    /** the protocol's headline metric (perplexity for ppl-decode, accuracy otherwise) for fast leaderboard reads */
    primaryMetric: text('primary_metric'),
    primaryValue: doublePrecision('primary_value'),
    primaryStderr: doublePrecision('primary_stderr'),
    kvBytesPerToken: doublePrecision('kv_bytes_per_token'),
    fp16BytesPerToken: doublePrecision('fp16_bytes_per_token'),
    ratioToFp16: doublePrecision('ratio_to_fp16'),
    peakRssBytes: bigint('peak_rss_bytes', { mode: 'number' }),
    wallSeconds: doublePrecision('wall_seconds'),
    nonFinite: integer('non_finite'),
  },
  (t) => [
    uniqueIndex('runs_hash_unique').on(t.hash),
    index('runs_status_idx').on(t.status),
    index('runs_board_idx').on(t.model, t.benchmark, t.keyBits, t.valueBits),
    index('runs_created_idx').on(t.createdAt),
    // The leaderboard reads succeeded runs only: partial indexes in each common sort order let a page be
    // read in index order (LIMIT stops early) and the count be an index-only scan. The page indexes hold
    // (sort key, id, protocol): leaderboard() picks a page's ids by an index-only scan in exactly its
    // ORDER BY (key, id), protocol <> 'analyze' checked in the index, so a deep OFFSET skips index
    // entries instead of sorting full rows. Their direction is the board's first click (newest first;
    // score and KV memory ascending); the other direction is an incremental sort on id over the scan.
    index('runs_done_finished_page_idx').on(t.finishedAt.desc().nullsFirst(), t.id, t.protocol).where(sql`${t.status} = 'succeeded'`),
    index('runs_done_score_page_idx').on(t.primaryValue.asc(), t.id, t.protocol).where(sql`${t.status} = 'succeeded'`),
    index('runs_done_kv_page_idx').on(t.kvBytesPerToken.asc(), t.id, t.protocol).where(sql`${t.status} = 'succeeded'`),
    index('runs_done_model_finished_idx').on(t.model, t.finishedAt).where(sql`${t.status} = 'succeeded'`),
    index('runs_done_backend_idx').on(t.backend).where(sql`${t.status} = 'succeeded'`),
  ],
);

/** A run may belong to several sweeps (identical cells are shared, not re-run). */
export const sweepRuns = pgTable(
  'sweep_runs',
  {
    sweepId: text('sweep_id').notNull().references(() => sweeps.id, { onDelete: 'cascade' }),
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sweepId, t.runId] }), index('sweep_runs_run_idx').on(t.runId)],
);

export const runMetrics = pgTable(
  'run_metrics',
  {
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: doublePrecision('value').notNull(),
    stderr: doublePrecision('stderr'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.name] })],
);

export const layerStats = pgTable(
  'layer_stats',
  {
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    layer: integer('layer').notNull(),
    tensor: text('tensor', { enum: ['k', 'v'] }).notNull(),
    metric: text('metric').notNull(),
    value: doublePrecision('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.layer, t.tensor, t.metric] })],
);

export const samples = pgTable(
  'samples',
  {
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    prompt: text('prompt').notNull(),
    output: text('output'),
    reference: text('reference'),
    correct: boolean('correct'),
    nll: doublePrecision('nll'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.index] })],
);

export type Run = typeof runs.$inferSelect;
export type NewRun = typeof runs.$inferInsert;
export type Sweep = typeof sweeps.$inferSelect;
export type RunMetric = typeof runMetrics.$inferSelect;
export type LayerStatRow = typeof layerStats.$inferSelect;
export type SampleRow = typeof samples.$inferSelect;

export const nowSql = sql`now()`;
