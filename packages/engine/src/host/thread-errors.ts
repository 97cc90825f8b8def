// Errors across the thread boundary: structured clone keeps only message and stack of an Error, so the
// fields callers classify on (name, code, field) travel explicitly.
import type { EvalOptions } from '../evaluation';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  field?: string;
}

export function serializeError(error: unknown): SerializedError {
  const e = error instanceof Error ? error : new Error(String(error));
  const extra = e as { code?: unknown; field?: unknown };
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    ...(typeof extra.code === 'string' ? { code: extra.code } : {}),
    ...(typeof extra.field === 'string' ? { field: extra.field } : {}),
  };
}

export function reviveError(s: SerializedError): Error {
  const error = new Error(s.message) as Error & { code?: string; field?: string };
  error.name = s.name;
  if (s.stack) error.stack = s.stack;
  if (s.code !== undefined) error.code = s.code;
  if (s.field !== undefined) error.field = s.field;
  return error;
}

/** What evaluate() and the host reject with once the caller's signal aborts. */
export function abortError(signal: AbortSignal): DOMException {
  const error = new DOMException('The evaluation was aborted', 'AbortError');
  if (signal.reason !== undefined) (error as { cause?: unknown }).cause = signal.reason;
  return error;
}

/** The thread died or was replaced while this job ran. */
export function threadLostError(options: EvalOptions | undefined, why: string): Error {
  const error = new Error(`evaluation thread ${why}${options ? ` while running ${options.model} on ${options.data}` : ''}`);
  error.name = 'EvaluationThreadError';
  return error;
}
