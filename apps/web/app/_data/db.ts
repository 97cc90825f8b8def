// The database handle for server components: the same process-wide handle the route handlers use.
import { getDb, type Db } from '@kvbench/db';

export async function database(): Promise<Db> {
  return (await getDb()).db;
}
