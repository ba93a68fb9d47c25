// Secrets in adapter configs: the values of `env` (process) and `headers` (http), and the query
// values of `url` (http: webhook tokens ride there, `?code=`, `?token=`), are shown as a marker,
// never as stored. A config read back and sent again keeps the stored secrets wherever the marker
// stands, so "read, change one field, write back" never destroys them.
import { badInput } from '../model/errors.ts';

export const REDACTED = '***REDACTED***';

/** Config keys holding a name -> value map whose values may be secrets. */
export const SECRET_MAPS = ['env', 'headers'] as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The config as clients see it: every value of a secret map, and of the url's query, replaced by the marker. */
export function redactAdapterConfig(config: Record<string, unknown>): Record<string, unknown> {
  const redacted = { ...config };
  for (const key of SECRET_MAPS) {
    const values = redacted[key];
    if (isObject(values)) redacted[key] = Object.fromEntries(Object.keys(values).map((name) => [name, REDACTED]));
  }
  if (typeof redacted.url === 'string') redacted.url = redactUrl(redacted.url);
  return redacted;
}

/** A URL cut around its query, kept raw (as written) so that putting it together changes nothing else. */
interface UrlParts {
  head: string;
  params: Array<{ name: string; value: string | null }>;
  fragment: string;
}

function splitUrl(url: string): UrlParts | null {
  const hash = url.indexOf('#');
  const withoutFragment = hash < 0 ? url : url.slice(0, hash);
  const question = withoutFragment.indexOf('?');
  if (question < 0) return null;
  const params = withoutFragment
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? { name: pair, value: null } : { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
    });
  return { head: withoutFragment.slice(0, question), params, fragment: hash < 0 ? '' : url.slice(hash) };
}

const joinUrl = ({ head, params, fragment }: UrlParts) =>
  `${head}?${params.map(({ name, value }) => (value === null ? name : `${name}=${value}`)).join('&')}${fragment}`;

const decoded = (raw: string) => {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
};

/** The URL with every non-empty query value replaced by the marker; anything else as it was. */
export function redactUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return url;
  return joinUrl({ ...parts, params: parts.params.map(({ name, value }) => ({ name, value: value ? REDACTED : value })) });
}

/** `url` with each marker in its query replaced by the stored URL's value for the same parameter (nth for nth). */
function restoreUrl(url: string, stored: unknown): string {
  const parts = splitUrl(url);
  if (!parts || !parts.params.some(({ value }) => value !== null && decoded(value) === REDACTED)) return url;
  const previous = (typeof stored === 'string' ? splitUrl(stored)?.params : null) ?? [];
  const seen = new Map<string, number>();
  const params = parts.params.map(({ name, value }) => {
    const nth = seen.get(decoded(name)) ?? 0;
    seen.set(decoded(name), nth + 1);
    if (value === null || decoded(value) !== REDACTED) return { name, value };
    const match = previous.filter((p) => decoded(p.name) === decoded(name))[nth];
    if (!match?.value) {
      throw badInput(
        `adapterConfig.url: ${REDACTED} stands for the stored value of query parameter "${decoded(name)}", and none is stored; send the real value`,
        { field: 'adapterConfig.url' },
      );
    }
    return { name, value: match.value };
  });
  return joinUrl({ ...parts, params });
}

/**
 * `incoming` with each marker in a secret map replaced by the value `stored` has at the same path.
 * A marker with nothing stored behind it (a new name, another agent's config pasted in) is refused:
 * storing it would hand the agent the literal marker instead of its secret.
 */
export function restoreRedactedSecrets(incoming: unknown, stored: Record<string, unknown> | null): unknown {
  if (!isObject(incoming)) return incoming;
  let restored: Record<string, unknown> | null = null;
  if (typeof incoming.url === 'string') {
    const url = restoreUrl(incoming.url, stored?.url);
    if (url !== incoming.url) restored = { ...incoming, url };
  }
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
