// Small coloured labels for states: a run's status, its liveness, an agent's status, a silence level.
import type { Run } from '../../index.ts';
import { label, span } from './format.ts';

/** A status (run, agent, issue) as a coloured pill; "—" without one. */
export function StatusBadge({ status, title, testId }: { status: string | null | undefined; title?: string; testId?: string }) {
  if (!status) return <span class="muted">—</span>;
  return (
    <span class={`badge badge-${status.toLowerCase()}`} title={title} data-testid={testId} data-status={status}>
      {label(status)}
    </span>
  );
}

/** A finished run's liveness (ADVANCED, PLAN_ONLY, ...), its reason in the tooltip. */
export function LivenessBadge({ state, reason }: { state: string | null | undefined; reason?: string | null }) {
  return <StatusBadge status={state} title={reason ?? undefined} />;
}

/** A running run silent too long (docs/engine.md §17): SUSPICIOUS, CRITICAL or SNOOZED; nothing when OK. */
export function SilenceBadge({ silence }: { silence: Run['outputSilence'] }) {
  if (!silence || silence.level === 'OK') return null;
  const snoozed = silence.snoozedUntil ? `; snoozed until ${new Date(silence.snoozedUntil).toLocaleString()}` : '';
  const level = silence.level.toLowerCase();
  return (
    <span class={`badge badge-silence badge-silence-${level}`} title={`No output for ${span(silence.seconds * 1000)}${snoozed}`} data-testid="run-silence" data-level={silence.level}>
      {level}
    </span>
  );
}

/** What a run's liveness cell shows: its silence while it runs, else its liveness. */
export function RunLivenessCell({ run }: { run: Pick<Run, 'outputSilence' | 'liveness'> }) {
  return run.outputSilence && run.outputSilence.level !== 'OK' ? <SilenceBadge silence={run.outputSilence} /> : <LivenessBadge state={run.liveness.state} reason={run.liveness.reason} />;
}
