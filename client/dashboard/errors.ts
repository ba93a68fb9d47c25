// How the console tells errors apart: a refused key (sign out), a connection problem (goes away by
// itself once the connection is back), anything else (shown until dismissed).
import { HeartbeatApiError } from '../index.ts';

export const describeError = (error: unknown) =>
  error instanceof HeartbeatApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);

/** A key the server will not take: unknown or revoked on HTTP, or the socket closed with 4403. */
export const isRefusedKey = (error: unknown) =>
  error instanceof HeartbeatApiError && (error.code === 'UNAUTHENTICATED' || error.details.closeCode === 4403);

/** A connection problem, which the next successful reconnect makes moot. */
export const isNetworkError = (error: unknown) => error instanceof HeartbeatApiError && error.code === 'NETWORK_ERROR';

export const isForbidden = (error: unknown) => error instanceof HeartbeatApiError && error.code === 'FORBIDDEN';

export const isNotFound = (error: unknown) => error instanceof HeartbeatApiError && error.code === 'NOT_FOUND';
