import { handle, json } from '../../../lib/http';
import { leaderboardView } from '../../../lib/runs';
import { getServices } from '../../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * Succeeded runs. Filters: model, benchmark, backend (repeat or comma-separate), bits=K4V2 or
 * keyBits/valueBits, protocol, provider. sort (score, kvBytesPerToken, ratioToFp16, tokensPerSecond,
 * wallSeconds, finishedAt, model, benchmark, keyBits, valueBits), order=asc|desc, page, pageSize (<= 500),
 * metrics=1 to attach every metric.
 */
export const GET = handle(async (request: Request) => json(await leaderboardView(await getServices(), new URL(request.url).searchParams)));
