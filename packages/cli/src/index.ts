export { main } from './main';
export { ApiClient, ApiError, resolveToken } from './api';
export type { Command, CommandContext } from './command';
export { COMMANDS } from './commands/index';
