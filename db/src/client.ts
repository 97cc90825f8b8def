// One client factory: Postgres through `pg` when DATABASE_URL is set, embedded PGlite under
// $KVBENCH_DATA_DIR/pglite (default .kvbench/) otherwise. Both speak the same pg-core schema.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema';

export type Schema = typeof schema;
/** The driver-neutral database type every query function takes. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface DbHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** where it lives: the URL without password, or the PGlite directory */
  location: string;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** postgres://... ; default process.env.DATABASE_URL */
  databaseUrl?: string;
  /** PGlite directory, or "memory://" for an in-memory database (tests) */
  pgliteDir?: string;
  /** run the migrations before returning (default true) */
  migrate?: boolean;
  poolMax?: number;
}

export function dataDir(env: Record<string, string | undefined> = process.env): string {
  return path.resolve(env.KVBENCH_DATA_DIR || '.kvbench');
}

export function migrationsDir(): string {
  const candidates = [
    process.env.KVBENCH_MIGRATIONS_DIR,
    // next to this file (tsx, vitest) ...
    safeUrlPath('../migrations'),
    // ... or from the repo root / apps/web when bundled by Next.js
    path.resolve('db/migrations'),
    path.resolve('../../db/migrations'),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(path.join(p, 'meta', '_journal.json')));
  if (!found) throw new Error(`db: migrations folder not found (tried ${candidates.join(', ')}); set KVBENCH_MIGRATIONS_DIR`);
  return found;
}

function safeUrlPath(rel: string): string | undefined {
  try {
    const url = new URL(rel, import.meta.url);
    return url.protocol === 'file:' ? fileURLToPath(url) : undefined;
  } catch {
    return undefined;
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

export async function openDb(options: OpenDbOptions = {}): Promise<DbHandle> {
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  const handle = url ? await openPostgres(url, options.poolMax ?? 10) : await openPglite(options.pgliteDir ?? path.join(dataDir(), 'pglite'));
  if (options.migrate !== false) await migrateDb(handle, url);
  return handle;
}

async function openPostgres(url: string, max: number): Promise<DbHandle> {
  const { default: pg } = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 });
  // An idle client losing its server (Postgres restart) must not crash the process; the next query reconnects.
  pool.on('error', (err) => console.error(`db: idle client error: ${err.message}`));
  const db = drizzle({ client: pool, schema }) as unknown as Db;
  return { db, kind: 'postgres', location: redactUrl(url), close: () => pool.end() };
}

async function openPglite(dir: string): Promise<DbHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir);
  await client.waitReady;
  const db = drizzle({ client, schema }) as unknown as Db;
  return { db, kind: 'pglite', location: dir, close: () => client.close() };
}

/**
 * Applies the drizzle-kit migrations. On Postgres several processes may start at once (web, workers),
 * so the migration runs under an advisory lock on one dedicated connection.
 */
export async function migrateDb(handle: DbHandle, url?: string): Promise<void> {
  const folder = migrationsDir();
  if (handle.kind === 'pglite') {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    await migrate(handle.db as never, { migrationsFolder: folder });
    return;
  }
  const { default: pg } = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const { migrate } = await import('drizzle-orm/node-postgres/migrator');
  const client = new pg.Client({ connectionString: url ?? process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(7261541)');
    await migrate(drizzle({ client }), { migrationsFolder: folder });
  } finally {
    await client.query('select pg_advisory_unlock(7261541)').catch(() => {});
    await client.end();
  }
}

const GLOBAL_KEY = Symbol.for('kvbench.db');
type GlobalWithDb = typeof globalThis & { [GLOBAL_KEY]?: Promise<DbHandle> };

/**
 * The process-wide handle (web route handlers, workers, the start script). Kept on globalThis so that
 * Next.js's bundled copies of this module and the start script share one PGlite instance.
 */
export function getDb(): Promise<DbHandle> {
  const g = globalThis as GlobalWithDb;
  if (!g[GLOBAL_KEY]) {
    g[GLOBAL_KEY] = openDb().catch((err) => {
      delete g[GLOBAL_KEY];
      throw err;
    });
  }
  return g[GLOBAL_KEY]!;
}

/** Installs a handle as the process-wide one (the start script, tests). */
export function setDb(handle: DbHandle): void {
  (globalThis as GlobalWithDb)[GLOBAL_KEY] = Promise.resolve(handle);
}

export function clearDb(): void {
  delete (globalThis as GlobalWithDb)[GLOBAL_KEY];
}
