// Adapter config validation: zod schemas in, one BAD_USER_INPUT error naming the field out.
import { z } from 'zod';
import { badInput } from '../model/errors.ts';

/** `adapterConfig.steps[3].sleepMs` — the path as a user would write it. */
export function formatPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  return out;
}

// zod v4 words a missing field as "Invalid input: expected string, received undefined".
const errorMap: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined;

/** Parses `value` with `schema` or throws badInput listing every issue with its field path. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix = 'adapterConfig'): T {
  const parsed = schema.safeParse(value, { error: errorMap });
  if (parsed.success) return parsed.data;
  // A key the schema does not know (a strict object) is named on its own path, like any bad field.
  const issues = parsed.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath(prefix, [...issue.path, key]), message: 'Unknown field' }))
      : [{ path: formatPath(prefix, issue.path), message: issue.message }],
  );
  throw badInput(issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

export const stringRecord = z.record(z.string(), z.string());
export const jsonObject = z.record(z.string(), z.unknown());
export const nonNegativeSeconds = z.number().finite().min(0);

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); clamp instead. */
export const timerMs = (seconds: number) => Math.min(seconds * 1000, 2 ** 31 - 1);
