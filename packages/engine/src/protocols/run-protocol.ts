// Dispatches an evaluation to its protocol.
import type { Protocol } from '../evaluation';
import { runGenExact } from './gen-exact';
import { runMcDecode } from './mc-decode';
import { runPplDecode } from './ppl-decode';
import type { ProtocolContext, ProtocolOutput } from './types';

export const PROTOCOLS: readonly Protocol[] = ['ppl-decode', 'gen-exact', 'mc-decode'];

export function runProtocol(ctx: ProtocolContext): Promise<ProtocolOutput> {
  switch (ctx.options.protocol) {
    case 'ppl-decode':
      return runPplDecode(ctx);
    case 'gen-exact':
      return runGenExact(ctx);
    case 'mc-decode':
      return runMcDecode(ctx);
    default:
      throw new Error(`protocol: got ${JSON.stringify(ctx.options.protocol)}, allowed: ${PROTOCOLS.join(', ')}`);
  }
}
