// Pure formatters the console's pages share: labels, ids, times, durations, money. No DOM here.

/** RUNNING -> "running", SCHEDULED_RETRY -> "scheduled retry". */
export const label = (value: string | null | undefined) => (value ?? '').toLowerCase().replace(/_/g, ' ');

/** The uuid inside a global id ("HeartbeatRun:<uuid>" in base64), or the id itself. */
export function rawId(globalId: string): string {
  try {
    return atob(globalId).split(':')[1] ?? globalId;
  } catch {
    return globalId;
  }
}

/** The first 8 characters of the uuid inside a global id: how runs are named in lists. */
export const shortId = (globalId: string) => rawId(globalId).slice(0, 8);

/** A span of milliseconds for people: 42s, 3m 07s, 2h 05m, 3d 04h. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** A short gap between two moments, to the millisecond when small: +12ms, +1.4s, +3m 07s. */
export function gap(ms: number): string {
  if (ms < 1_000) return `+${Math.max(0, Math.round(ms))}ms`;
  if (ms < 10_000) return `+${(ms / 1000).toFixed(1)}s`;
  return `+${span(ms)}`;
}

/** The time of day, with the date when it is not today. */
export function clock(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return date.toDateString() === now.toDateString() ? time : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** How long ago (or how far ahead) a moment is: "12s ago", "in 3m 07s", "just now". */
export function relative(iso: string, now = Date.now()): string {
  const delta = Date.parse(iso) - now;
  if (Math.abs(delta) < 1_000) return 'just now';
  return delta > 0 ? `in ${span(delta)}` : `${span(-delta)} ago`;
}

/** A countdown to a moment: "in 3m 07s", then "due now". */
export function countdownText(iso: string, now = Date.now()): string {
  const left = Date.parse(iso) - now;
  return left > 0 ? `in ${span(left)}` : 'due now';
}

/** Cents as dollars: 1234 -> "$12.34". */
export const money = (cents: number) => `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** A count with thousands separators. */
export const tokens = (count: number) => count.toLocaleString('en-US');

/** JSON for reading: indented, or the text itself. */
export const prettyJson = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));
