// Labels of stored runs for server components: protocol's runLabel over the row and its config variant.
import type { Run } from '@kvbench/db';
import { runLabel, runVariant } from '@kvbench/protocol';
import { runDisplayLabel } from '../../components/format';

/** "K4V2", "K4V2 WHT", "TQ-KQV 3b", "budget 4 (spectral)"; "fp16" for the full-precision cache. */
export function labelOfRun(run: Pick<Run, 'keyBits' | 'valueBits' | 'backend' | 'config'>): string {
  return runDisplayLabel({ ...run, label: runLabel({ ...run, ...runVariant(run.config) }) });
}
