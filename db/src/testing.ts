// Throwaway databases for tests: a fresh Postgres database per call (parallel runs never collide),
// or an in-memory PGlite.
import { randomBytes } from 'node:crypto';
import { openDb, type DbHandle } from './client';

export const TEST_POSTGRES_URL = process.env.KVBENCH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Creates a uniquely named database next to TEST_POSTGRES_URL, migrates it, and drops it on close. */
export async function openTestPostgres(adminUrl = TEST_POSTGRES_URL): Promise<DbHandle & { url: string }> {
  const { default: pg } = await import('pg');
  const name = `kvbench_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const handle = await openDb({ databaseUrl: url });
  return {
    ...handle,
    url,
    async close() {
      await handle.close();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    },
  };
}

export async function openTestPglite(): Promise<DbHandle> {
  return openDb({ databaseUrl: '', pgliteDir: 'memory://' });
}
