// Fills a database for looking at the dashboard by hand: `DATABASE_URL=... tsx bench/web/seed-dev.ts [generated]`.
import { openDb, schema } from '@kvbench/db';
import { generatedRuns, insertSeeded, storiesReferenceRuns } from './seed';

const handle = await openDb();
const layer = (runId: string) =>
  [0, 1, 2, 3, 4].flatMap((l) => [
    { runId, layer: l, tensor: 'k' as const, metric: 'frobenius', value: [10.24, 10.46, 8.27, 9.26, 6.87][l] },
    { runId, layer: l, tensor: 'v' as const, metric: 'frobenius', value: [2.09, 2.22, 2.76, 3.2, 4.66][l] },
    { runId, layer: l, tensor: 'k' as const, metric: 'relError', value: 0.1 + l * 0.01 },
    { runId, layer: l, tensor: 'v' as const, metric: 'relError', value: 0.2 - l * 0.01 },
  ]);
const stories = storiesReferenceRuns();
await insertSeeded(handle.db, [...stories, ...generatedRuns(Number(process.argv[2] ?? 400))]);
for (const s of stories) await handle.db.insert(schema.layerStats).values(layer(s.run.id!)).onConflictDoNothing();
console.log('seeded');
await handle.close();
