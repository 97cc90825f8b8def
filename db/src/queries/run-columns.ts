// The columns that identify a run and its cache configuration, as listed by the leaderboard and by a
// sweep's cells: one projection so both lists show the same fields under the same names.
import { runs } from '../schema';

export const runConfigColumns = {
  id: runs.id,
  hash: runs.hash,
  status: runs.status,
  model: runs.model,
  benchmark: runs.benchmark,
  protocol: runs.protocol,
  keyBits: runs.keyBits,
  valueBits: runs.valueBits,
  backend: runs.backend,
  keyGroupSize: runs.keyGroupSize,
  valueGroupSize: runs.valueGroupSize,
  keyAxis: runs.keyAxis,
  valueAxis: runs.valueAxis,
  residualLength: runs.residualLength,
  limit: runs.limit,
  provider: runs.provider,
};
