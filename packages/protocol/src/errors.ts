import type { z } from 'zod';

/** One problem with an input, naming the field ("keyBits", "models.2", "base.limit"). */
export interface FieldError {
  field: string;
  message: string;
}

/** Thrown by the parse functions; `issues` is what the API returns with a 400. */
export class ValidationError extends Error {
  constructor(readonly issues: FieldError[]) {
    super(issues.map((i) => `${i.field || '(body)'}: ${i.message}`).join('; '));
    this.name = 'ValidationError';
  }
}

export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: path ? `${path}.${key}` : key, message: 'unknown field' });
    } else {
      out.push({ field: path, message: issue.message });
    }
  }
  return out;
}
