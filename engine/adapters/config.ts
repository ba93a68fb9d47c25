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

/**
 * What a strict schema does with a key it does not know: `refuse` it (a config about to be stored:
 * createAgent, updateAgent), or `ignore` it (a config already stored, read for a run: an agent saved
 * before unknown keys were refused keeps running).
 */
export type UnknownKeys = 'refuse' | 'ignore';

/** Parses `value` with `schema` or throws badInput listing every issue with its field path. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix = 'adapterConfig', unknownKeys: UnknownKeys = 'refuse'): T {
  let input = value;
  for (;;) {
    const parsed = schema.safeParse(input, { error: errorMap });
    if (parsed.success) return parsed.data;
    if (unknownKeys === 'ignore') {
      // Without the keys named, the config parses as the schema knows it (or fails on a known field).
      const withoutUnknown = withoutKeys(input, parsed.error.issues);
      if (withoutUnknown !== null) {
        input = withoutUnknown;
        continue;
      }
    }
    // A key the schema does not know (a strict object) is named on its own path, like any bad field.
    const issues = parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: formatPath(prefix, [...issue.path, key]), message: 'Unknown field' }))
        : [{ path: formatPath(prefix, issue.path), message: issue.message }],
    );
    throw badInput(issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
  }
}

/** A copy of `value` without the keys its `unrecognized_keys` issues name; null when there is none to drop. */
function withoutKeys(value: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const unknown = issues.filter((issue) => issue.code === 'unrecognized_keys');
  if (unknown.length === 0) return null;
  const copy: unknown = structuredClone(value);
  let dropped = false;
  for (const issue of unknown) {
    let holder: unknown = copy;
    for (const key of issue.path) holder = typeof holder === 'object' && holder !== null ? (holder as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof holder !== 'object' || holder === null) continue;
    for (const key of issue.keys) {
      if (!Object.hasOwn(holder, key)) continue;
      delete (holder as Record<string, unknown>)[key];
      dropped = true;
    }
  }
  return dropped ? copy : null;
}

export const stringRecord = z.record(z.string(), z.string());
export const jsonObject = z.record(z.string(), z.unknown());
export const nonNegativeSeconds = z.number().finite().min(0);

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); clamp instead. */
export const timerMs = (seconds: number) => Math.min(seconds * 1000, 2 ** 31 - 1);
