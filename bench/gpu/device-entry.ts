// One bundle entry for the GPU machine (../shared/device/pack.sh takes one entry per bundle):
//   node .device/device-entry.mjs consistency [...]   -> consistency.ts
//   node .device/device-entry.mjs decode [...]        -> decode-peer.ts (spawns itself per (model, cache))
//   node .device/device-entry.mjs join [...]          -> peer-join.ts
//   node .device/device-entry.mjs codecs [...]        -> codecs-check.ts
//   node .device/device-entry.mjs floor [...]         -> dispatch-floor.ts
//   node .device/device-entry.mjs linears [...]       -> linear-kernels.ts
//   node .device/device-entry.mjs profile [...]       -> decode-profile.ts
//   node .device/device-entry.mjs packedattn [...]    -> packed-attention-probe.ts
//   node .device/device-entry.mjs prompts [...]       -> prompt-sizes.ts
//   node .device/device-entry.mjs lanes [...]         -> worker-lanes.ts (KVBENCH_HOST_ENTRIES=.device)
//   node .device/device-entry.mjs alternate [...]     -> alternate-sessions.ts
// bench/gpu/device-run.sh runs all of them; README.md has the commands.
import { alternateSessionsMain } from './alternate-sessions';
import { codecsCheckMain } from './codecs-check';
import { consistencyMain } from './consistency';
import { dispatchFloorMain } from './dispatch-floor';
import { decodePeerMain } from './decode-peer';
import { decodeProfileMain } from './decode-profile';
import { linearKernelsMain } from './linear-kernels';
import { packedAttentionProbeMain } from './packed-attention-probe';
import { peerJoinMain } from './peer-join';
import { promptSizesMain } from './prompt-sizes';
import { workerLanesMain } from './worker-lanes';

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<void> | void> = {
  consistency: consistencyMain,
  decode: decodePeerMain,
  join: peerJoinMain,
  codecs: codecsCheckMain,
  floor: dispatchFloorMain,
  linears: linearKernelsMain,
  profile: decodeProfileMain,
  packedattn: packedAttentionProbeMain,
  prompts: promptSizesMain,
  lanes: workerLanesMain,
  alternate: alternateSessionsMain,
};
const run = command ? commands[command] : undefined;
if (!run) {
  console.error(`usage: device-entry.mjs ${Object.keys(commands).join('|')} [options]`);
  process.exit(2);
}
Promise.resolve(run(rest)).catch((error) => {
  console.error(error);
  process.exit(1);
});
