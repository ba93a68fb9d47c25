// Secrets in adapter configs: the values of `env` (process) and `headers` (http) are shown as a
// marker, never as stored. A config read back and sent again keeps the stored secrets wherever
// the marker stands, so "read, change one field, write back" never destroys them.
import { badInput } from '../errors.ts';

export const REDACTED = '***REDACTED***';

/** Config keys holding a name -> value map whose values may be secrets. */
export const SECRET_MAPS = ['env', 'headers'] as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The config as clients see it: every value of a secret map replaced by the marker. */
export function redactAdapterConfig(config: Record<string, unknown>): Record<string, unknown> {
  const redacted = { ...config };
  for (const key of SECRET_MAPS) {
    const values = redacted[key];
    if (isObject(values)) redacted[key] = Object.fromEntries(Object.keys(values).map((name) => [name, REDACTED]));
  }
  return redacted;
}

/**
 * `incoming` with each marker in a secret map replaced by the value `stored` has at the same path.
 * A marker with nothing stored behind it (a new name, another agent's config pasted in) is refused:
 * storing it would hand the agent the literal marker instead of its secret.
 */
export function restoreRedactedSecrets(incoming: unknown, stored: Record<string, unknown> | null): unknown {
  if (!isObject(incoming)) return incoming;
  let restored: Record<string, unknown> | null = null;
  for (const key of SECRET_MAPS) {
    const values = incoming[key];
    if (!isObject(values) || !Object.values(values).includes(REDACTED)) continue;
    const previous = isObject(stored?.[key]) ? (stored[key] as Record<string, unknown>) : {};
    const merged: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(values)) {
      if (value !== REDACTED) merged[name] = value;
      else if (Object.hasOwn(previous, name) && typeof previous[name] === 'string') merged[name] = previous[name];
      else {
        throw badInput(
          `adapterConfig.${key}.${name}: ${REDACTED} stands for a stored secret, and none is stored under this name; send the real value`,
          { field: `adapterConfig.${key}.${name}` },
        );
      }
    }
    restored = { ...(restored ?? incoming), [key]: merged };
  }
  return restored ?? incoming;
}
