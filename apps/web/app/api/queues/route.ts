import { handle, json } from '../../../lib/http';
import { allQueueDepths } from '../../../lib/queues';
import { getServices } from '../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Every device class's queue depth. */
export const GET = handle(async () => json(await allQueueDepths(await getServices())));
