// What an issue change did to its assignee, in a line: the agent was woken (its run, queued or merged
// into one on its way), the wakeup waits for the running run, or the agent could not be woken
// now (paused, ...) while the change was stored all the same.
import type { WakePayloadFieldsFragment } from '../../generated/graphql.ts';
import { hrefs, label, shortId } from '../ui/index.ts';

export function WakeupNote({ wakeup, testId }: { wakeup: WakePayloadFieldsFragment | null | undefined; testId: string }) {
  if (!wakeup) return null;
  const { outcome, run, wakeupRequest } = wakeup;
  if (outcome === 'SKIPPED') {
    return (
      <p class="form-note warning" data-testid={testId} data-outcome={outcome}>
        Saved; the agent was not woken: {wakeupRequest.error ?? wakeupRequest.reason ?? 'it cannot be woken now'}.
      </p>
    );
  }
  return (
    <p class="form-note" data-testid={testId} data-outcome={outcome}>
      {outcome === 'DEFERRED' ? 'Saved; the agent is woken once the issue’s running run ends' : `Saved; the agent was woken (${label(outcome)})`}
      {run && (
        <>
          {': run '}
          <a href={hrefs.run(run.id)}>
            <code>{shortId(run.id)}</code>
          </a>
        </>
      )}
      .
    </p>
  );
}
