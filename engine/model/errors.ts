// Expected failures the engine and the API raise on purpose. Each carries a stable code that the
// GraphQL layer exposes as `extensions.code`; anything else is an internal error and is masked.

export const errorCodes = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  /** A subscriber stopped reading; its subscription ended and can resume where it left off. */
  'SLOW_CONSUMER',
  /** The caller sent more than its rate allows. */
  'RATE_LIMITED',
  /** The database is unreachable, or did not answer within the request's time (engine/store/request-deadline.ts): try again shortly. */
  'SERVICE_UNAVAILABLE',
  /** A budget of the scope is spent (docs/engine.md §14): the scope is in `extensions`. */
  'BUDGET_EXCEEDED',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class HeartbeatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable details, exposed next to the code. Never internals. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HeartbeatError';
  }
}

export const notFound = (what: string) => new HeartbeatError('NOT_FOUND', `${what} not found`);
export const badInput = (message: string, details?: Record<string, unknown>) =>
  new HeartbeatError('BAD_USER_INPUT', message, details);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new HeartbeatError('CONFLICT', message, details);
export const forbidden = (message = 'Not allowed') => new HeartbeatError('FORBIDDEN', message);
export const unauthenticated = (message = 'A valid API key is required') =>
  new HeartbeatError('UNAUTHENTICATED', message);
