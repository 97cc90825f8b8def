import { prometheusText } from '../../lib/metrics';
import { errorResponse } from '../../lib/http';
import { getServices } from '../../lib/services';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    return new Response(await prometheusText(await getServices()), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
  } catch (err) {
    return errorResponse(err);
  }
}
