// The pure parts of bounded transient retry (spec §6.12): the backoff schedule, the transient contract
// read back from a failed run, and the codex fallback stage. Time and randomness come in as arguments.

/** Base delays per attempt (§3): 2 min, 10 min, 30 min, 2 h. */
export const BOUNDED_RETRY_DELAYS_MS = [120_000, 600_000, 1_800_000, 7_200_000] as const;
export const BOUNDED_RETRY_MAX_ATTEMPTS = 4;

/** +-25% jitter so retries of many runs that failed together do not land together. */
const JITTER = 0.25;
const MIN_DELAY_MS = 1_000;

export interface RetrySchedule {
  attempt: number;
  baseDelayMs: number;
  delayMs: number;
  dueAt: Date;
}

/** When retry `attempt` (1-based) is due, or null once the attempts are used up (or attempt is invalid). */
export function boundedRetrySchedule(attempt: number, now: Date, random: number): RetrySchedule | null {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > BOUNDED_RETRY_MAX_ATTEMPTS) return null;
  const baseDelayMs = BOUNDED_RETRY_DELAYS_MS[attempt - 1];
  // A NaN random would poison the delay; treat it as the midpoint (no jitter).
  const r = Number.isNaN(random) ? 0.5 : Math.min(1, Math.max(0, random));
  const delayMs = Math.max(MIN_DELAY_MS, Math.round(baseDelayMs * (1 + (2 * r - 1) * JITTER)));
  return { attempt, baseDelayMs, delayMs, dueAt: new Date(now.getTime() + delayMs) };
}

export interface TransientContract {
  errorFamily: string;
  retryNotBefore: string | null;
}

/** Adapter error codes that mean "the upstream model service hiccuped; try again later". */
export const TRANSIENT_ERROR_CODES: Record<string, string> = Object.freeze({
  codex_transient_upstream: 'transient_upstream',
  claude_transient_upstream: 'transient_upstream',
});

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';
const validDate = (value: unknown): value is string => nonEmpty(value) && !Number.isNaN(Date.parse(value));

/**
 * The transient-failure contract of a failed run, or null when the run did not fail transiently.
 * An adapter-declared errorFamily wins over the one implied by the error code.
 */
export function transientContract(run: {
  errorCode: string | null;
  resultJson: Record<string, unknown> | null;
}): TransientContract | null {
  const rj = run.resultJson ?? {};
  const code = run.errorCode;
  const errorFamily = nonEmpty(rj.errorFamily)
    ? rj.errorFamily.trim()
    : code !== null && Object.hasOwn(TRANSIENT_ERROR_CODES, code)
      ? TRANSIENT_ERROR_CODES[code]
      : null;
  if (errorFamily === null) return null;
  // First valid of the two keys: an unparsable retryNotBefore should not hide a good legacy value.
  const notBefore = [rj.retryNotBefore, rj.transientRetryNotBefore].find(validDate);
  return { errorFamily, retryNotBefore: notBefore ? notBefore.trim() : null };
}

/** The schedule's due time, pushed back to retryNotBefore when the upstream asked for a later retry. */
export function dueAtWithNotBefore(schedule: RetrySchedule, retryNotBefore: string | null): Date {
  const due = schedule.dueAt.getTime();
  const notBefore = validDate(retryNotBefore) ? Date.parse(retryNotBefore) : Number.NaN;
  return new Date(notBefore > due ? notBefore : due);
}

export type CodexFallbackMode = 'same_session' | 'safer_invocation' | 'fresh_session' | 'fresh_session_safer_invocation';

/**
 * How a codex_local retry changes its invocation: keep the session first, then progressively drop
 * risky flags and the (possibly poisoned) session as attempts pile up.
 */
export function codexFallbackMode(attempt: number): CodexFallbackMode {
  if (!(attempt >= 2)) return 'same_session';
  if (attempt < 3) return 'safer_invocation';
  if (attempt < 4) return 'fresh_session';
  return 'fresh_session_safer_invocation';
}
