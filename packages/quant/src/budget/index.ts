export type { BitAllocation, BitBudgetInput } from './bit-budget';
export { BUDGET_TOLERANCE, KVQ_BIT_RANGE, allocateBits, bitModelError, normalizeBitRange } from './bit-budget';
export type { GroupAllocation, GroupBudgetInput } from './group-budget';
export { KVQ_GROUP_RANGE, allocateGroupSizes } from './group-budget';
export type { CodePacking, LayerwiseStorage, LayerwiseStorageInput } from './storage';
export { CODE_PACKINGS, layerwiseStorage, storedCodeBits } from './storage';
