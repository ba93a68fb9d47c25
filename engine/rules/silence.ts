// Silent runs (docs/engine.md §17): how long a running run has printed nothing, the level that
// makes it, an operator's snooze or dismissal, and an agent's silence limit. Pure: the loop's
// statement (recovery/silence.ts) finds the runs whose level may change, the write
// (runs/silence-level.ts) decides with these functions on the locked rows.
import type { RunStatus } from '../../db/enums.ts';

/** A running run's output-silence level. */
export type OutputSilenceLevel = 'ok' | 'suspicious' | 'critical' | 'snoozed';
/** The level as `heartbeat_runs.output_silence_level` stores it: null is `ok`. */
export type StoredSilenceLevel = Exclude<OutputSilenceLevel, 'ok'> | null;

export const OUTPUT_SILENCE_LEVELS = ['ok', 'suspicious', 'critical', 'snoozed'] as const satisfies readonly OutputSilenceLevel[];

/** Server settings (HEARTBEAT_SILENCE_SUSPICIOUS_SEC, HEARTBEAT_SILENCE_CRITICAL_SEC). */
export interface SilenceThresholds {
  silenceSuspiciousSec: number;
  silenceCriticalSec: number;
}

export const DEFAULT_SILENCE_SUSPICIOUS_SEC = 3_600;
export const DEFAULT_SILENCE_CRITICAL_SEC = 14_400;
/** The furthest a snooze may reach: 7 days. */
export const MAX_SNOOZE_MS = 7 * 24 * 3_600_000;
/** An agent's silence limit, when on, is at least a minute (the progress columns move once a minute) ... */
export const MIN_SILENCE_TIMEOUT_SEC = 60;
/** ... and at most 30 days. */
export const MAX_SILENCE_TIMEOUT_SEC = 2_592_000;
/** The stop reason of a run cancelled for its silence. */
export const OUTPUT_SILENCE_STOP_REASON = 'output_silence';

/** The columns of a run its silence is read from. */
export interface SilenceRun {
  status: RunStatus;
  createdAt: Date;
  startedAt: Date | null;
  processStartedAt: Date | null;
  lastOutputAt: Date | null;
  outputSilenceSnoozedUntil: Date | null;
  outputSilenceDismissedAt: Date | null;
}

export interface OutputSilence {
  level: OutputSilenceLevel;
  /** Its last output, else its process start, else its start, else its creation. */
  silentSince: Date;
  /** Whole seconds since then (never negative). */
  seconds: number;
  /** Set while a snooze holds. */
  snoozedUntil: Date | null;
  /** Set while a dismissal covers the current silence. */
  dismissedAt: Date | null;
}

/** Critical is never below suspicious; neither below one second. */
export function normalizeThresholds(thresholds: SilenceThresholds): SilenceThresholds {
  const suspicious = Math.max(1, Math.floor(thresholds.silenceSuspiciousSec));
  return { silenceSuspiciousSec: suspicious, silenceCriticalSec: Math.max(suspicious, Math.floor(thresholds.silenceCriticalSec)) };
}

/** Where a run's silence starts. */
export function silentSince(run: Pick<SilenceRun, 'createdAt' | 'startedAt' | 'processStartedAt' | 'lastOutputAt'>): Date {
  return run.lastOutputAt ?? run.processStartedAt ?? run.startedAt ?? run.createdAt;
}

const secondsBetween = (from: Date, to: Date) => Math.max(0, Math.floor((to.getTime() - from.getTime()) / 1000));

/**
 * The run's output silence at `now`; null for a run that is not running. In order: a snooze that
 * has not ended makes it `snoozed`; a dismissal made after the silence began makes it `ok`; then
 * `critical` from the critical threshold, `suspicious` from the suspicious one, else `ok`.
 */
export function outputSilence(run: SilenceRun, now: Date, thresholds: SilenceThresholds): OutputSilence | null {
  if (run.status !== 'running') return null;
  const { silenceSuspiciousSec, silenceCriticalSec } = normalizeThresholds(thresholds);
  const since = silentSince(run);
  const seconds = secondsBetween(since, now);
  const snoozedUntil = run.outputSilenceSnoozedUntil && run.outputSilenceSnoozedUntil.getTime() > now.getTime() ? run.outputSilenceSnoozedUntil : null;
  const dismissedAt = run.outputSilenceDismissedAt && run.outputSilenceDismissedAt.getTime() >= since.getTime() ? run.outputSilenceDismissedAt : null;
  const level: OutputSilenceLevel = snoozedUntil
    ? 'snoozed'
    : dismissedAt
      ? 'ok'
      : seconds >= silenceCriticalSec
        ? 'critical'
        : seconds >= silenceSuspiciousSec
          ? 'suspicious'
          : 'ok';
  return { level, silentSince: since, seconds, snoozedUntil, dismissedAt };
}

export const storedLevel = (level: OutputSilenceLevel): StoredSilenceLevel => (level === 'ok' ? null : level);
export const levelOf = (stored: StoredSilenceLevel | string | null): OutputSilenceLevel =>
  stored === 'suspicious' || stored === 'critical' || stored === 'snoozed' ? stored : 'ok';

/** Whether an agent's silence limit (`silenceTimeoutSec`, 0 = off) is reached for this run at `now`. */
export function silenceLimitReached(run: SilenceRun, now: Date, silenceTimeoutSec: number): boolean {
  return run.status === 'running' && silenceTimeoutSec > 0 && secondsBetween(silentSince(run), now) >= silenceTimeoutSec;
}

/** A duration for people: `45s`, `5m 3s`, `2h 5m`, `3d 4h`. */
export function formatSilence(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3_600);
  const minutes = Math.floor((s % 3_600) / 60);
  const seconds = s % 60;
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  if (minutes > 0) return seconds > 0 ? `${minutes}m ${seconds}s` : `${minutes}m`;
  return `${seconds}s`;
}

/** The message of the `lifecycle` warning a change of level records. */
export function silenceEventMessage(change: { level: OutputSilenceLevel; previous: OutputSilenceLevel; seconds: number; snoozedUntil: Date | null; dismissed: boolean }): string {
  const why = change.level === 'snoozed' && change.snoozedUntil ? ` (snoozed until ${change.snoozedUntil.toISOString()})` : change.dismissed ? ' (dismissed)' : '';
  return `Output silence ${change.level.toUpperCase()} (was ${change.previous.toUpperCase()}): no output for ${formatSilence(change.seconds)}${why}`;
}

/** The reason a run cancelled for its silence records (its error and its "run cancelled" event). */
export function silenceCancelReason(seconds: number, silenceTimeoutSec: number): string {
  return `Cancelled: no output for ${formatSilence(seconds)} (silenceTimeoutSec ${silenceTimeoutSec})`;
}

/** What is wrong with a snooze until `until` at `now` (in the future, at most 7 days ahead); null when nothing. */
export function snoozeUntilProblem(until: Date, now: Date): string | null {
  if (Number.isNaN(until.getTime())) return 'until is not a valid time';
  if (until.getTime() <= now.getTime()) return 'until must be in the future';
  if (until.getTime() - now.getTime() > MAX_SNOOZE_MS) return 'until must be at most 7 days ahead';
  return null;
}
