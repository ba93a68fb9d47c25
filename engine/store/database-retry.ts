// Database failures that go away when the same work is tried again: conflicts between
// transactions (a few tries), and a database that is unreachable for a while (tried for as long
// as the outage lasts, up to a bound; database-unavailable.ts tells which errors those are).
import { isDatabaseUnavailable } from './database-unavailable.ts';

/** Deadlocks and serialization failures: the same transaction succeeds when tried again. */
const CONFLICT_SQLSTATES = new Set(['40P01', '40001']);

function codeOf(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A failure that the same work, tried again, does not meet: a conflict or an unavailable database. */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = codeOf(error);
  return (!!code && CONFLICT_SQLSTATES.has(code)) || isDatabaseUnavailable(error);
}

/** Runs `work`, again after a short backoff when it failed for a transient database reason. */
export async function withTransientRetry<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientDatabaseError(error)) throw error;
      await delay(25 * 2 ** attempt);
    }
  }
}

/** The longest pause between two tries while the database is away. */
const MAX_OUTAGE_BACKOFF_MS = 500;

/**
 * Runs `work` until it succeeds, through an unreachable database for up to `outageMs` (then the
 * last error is thrown) and through a few conflicts. For the writes a run cannot do without (its
 * start, its events, its outcome): what they carry waits in memory meanwhile.
 */
export async function withOutageRetry<T>(work: () => Promise<T>, outageMs: number, conflictAttempts = 8): Promise<T> {
  const started = Date.now();
  let conflicts = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        if (Date.now() - started >= outageMs) throw error;
      } else if (!isTransientDatabaseError(error) || ++conflicts >= conflictAttempts) {
        throw error;
      }
      await delay(Math.min(MAX_OUTAGE_BACKOFF_MS, 25 * 2 ** attempt));
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
