// Times that stay current by themselves: one shared 1-second tick re-renders only the components
// that show a countdown or an elapsed time, never the page around them.
import { useEffect, useState } from 'preact/hooks';
import { clock, countdownText, relative, span } from './format.ts';

const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

/** Now, re-read every second while the component is mounted. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const tick = () => setNow(Date.now());
    listeners.add(tick);
    timer ??= setInterval(() => listeners.forEach((listener) => listener()), 1_000);
    return () => {
      listeners.delete(tick);
      if (listeners.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, []);
  return now;
}

/** "12s ago" / "in 3m 07s", with the exact time in the tooltip; "—" without a time. */
export function RelativeTime({ iso, testId }: { iso: string | null | undefined; testId?: string }) {
  const now = useNow();
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()} data-testid={testId}>
      {relative(iso, now)}
    </time>
  );
}

/** The time of day (and date when not today), exact time in the tooltip. */
export function ClockTime({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()} class="nowrap">
      {clock(iso)}
    </time>
  );
}

/** A fixed span of time: 42s, 3m 07s. */
export function Duration({ ms }: { ms: number | null | undefined }) {
  if (ms == null || !Number.isFinite(ms)) return <span class="muted">—</span>;
  return <span class="nowrap">{span(ms)}</span>;
}

/** The time since `since`, ticking. */
export function Elapsed({ since }: { since: string }) {
  const now = useNow();
  return <span data-since={since}>{span(now - Date.parse(since))}</span>;
}

/** A countdown to `to` ("in 3m 07s", then "due now"), ticking. */
export function Countdown({ to }: { to: string }) {
  const now = useNow();
  return (
    <span class="countdown" data-countdown={to}>
      {countdownText(to, now)}
    </span>
  );
}

/** How long a run took, or has been running (ticking); nothing before it started. */
export function RunDuration({ run }: { run: { status: string; startedAt?: string | null; finishedAt?: string | null } }) {
  if (run.startedAt && run.finishedAt) return <Duration ms={Date.parse(run.finishedAt) - Date.parse(run.startedAt)} />;
  if (run.startedAt && run.status === 'RUNNING') return <Elapsed since={run.startedAt} />;
  return null;
}
