// Whether a failure means the database could not be reached, or would not take work right now: the
// request may succeed when sent again shortly (HTTP 503 SERVICE_UNAVAILABLE, server/errors.ts).
//
// Narrower than engine/store/database-retry.ts `isTransientDatabaseError`: a deadlock or a serialization
// failure is worth retrying, but the database answered; it is not "unavailable".

/** Socket errors of a connection that could not be made, or that broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** postgres.js: the connection closed, was ended or destroyed, or could not be made in connect_timeout. */
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/**
 * SQLSTATEs: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now ("the database
 * system is starting up / shutting down / in recovery mode"), 53300 too_many_connections; the
 * whole class 08 (connection exception) is matched below.
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

function codeIsUnavailable(code: unknown): boolean {
  if (typeof code !== 'string') return false;
  return NETWORK_CODES.has(code) || DRIVER_CODES.has(code) || SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code);
}

/**
 * True when `error`, or an error it wraps (`cause`, as drizzle wraps the driver's; `originalError`,
 * as graphql-js wraps a resolver's; `errors`, as an AggregateError of several connection attempts), says the database is unreachable or not taking
 * connections. Pure: looks only at the errors' codes.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): boolean => {
    if (typeof value !== 'object' || value === null || depth > 8 || seen.has(value)) return false;
    seen.add(value);
    const candidate = value as { code?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (codeIsUnavailable(candidate.code)) return true;
    if (visit(candidate.cause, depth + 1) || visit(candidate.originalError, depth + 1)) return true;
    return Array.isArray(candidate.errors) && candidate.errors.some((inner) => visit(inner, depth + 1));
  };
  return visit(error, 0);
}
