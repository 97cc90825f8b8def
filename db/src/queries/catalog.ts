// The models and benchmarks that results were recorded for (filled by the worker's result write).
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../client';
import { benchmarks, models } from '../schema';

export async function listModels(db: Db) {
  return db.select().from(models).orderBy(asc(models.name));
}

export async function getModel(db: Db, name: string) {
  const [row] = await db.select().from(models).where(eq(models.name, name));
  return row;
}

export async function listBenchmarks(db: Db) {
  return db.select().from(benchmarks).orderBy(asc(benchmarks.name));
}
