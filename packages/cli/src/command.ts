import type { ApiClient } from './api';

export interface CommandContext {
  /** the HTTP API (created on first use, from --api / KVBENCH_API_URL and the token) */
  api(): ApiClient;
  out: (text: string) => void;
  err: (text: string) => void;
  /** whether stdout is a terminal (progress bars redraw in place) */
  tty: boolean;
}

export interface Command {
  summary: string;
  usage: string;
  /** returns the exit code */
  run(argv: string[], ctx: CommandContext): Promise<number>;
}

/** A user error: printed without a stack, exit code 2. */
export class UsageError extends Error {}
