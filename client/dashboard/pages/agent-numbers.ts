// The agents pages' recent window and how its numbers read (the overview reads durations the same way).
import { span } from '../ui/format.ts';

/** The window of the success rate, p95 duration, tokens and cost the agents pages show. */
export const RECENT_DAYS = 7;
const DAY_MS = 86_400_000;

/** The start of the recent window, to the minute (so that reloads within a minute ask the same). */
export const recentSince = (now = Date.now()) => new Date(Math.floor((now - RECENT_DAYS * DAY_MS) / 60_000) * 60_000).toISOString();

/** A share as a percentage people read: 97%, 99.5%; a dash when there is nothing to rate. */
export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '—';
  const value = rate * 100;
  return `${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)}%`;
}

/** A duration people read, to the millisecond below a second (a quick run's p95 is not "0s"). */
export function durationText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms < 1_000 ? `${Math.round(ms)} ms` : span(ms);
}
