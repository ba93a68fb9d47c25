// /runs/:id: one run, live — its status and actions, facts (agent, issue, times, liveness and its
// evidence, retry chain both ways, session, cost), its outcome, its output following while it
// works, its event timeline, and the context it was woken with.
import { RunFacts } from '../run/run-facts.tsx';
import { RunContext, RunOutcome } from '../run/run-outcome.tsx';
import { RunOutput } from '../run/run-output.tsx';
import { RunTimeline } from '../run/run-timeline.tsx';
import { RunTitle } from '../run/run-title.tsx';
import { useRunDetail } from '../run/use-run-detail.ts';
import { EmptyState } from '../ui/empty-state.tsx';

function RunView({ id }: { id: string }) {
  const detail = useRunDetail(id);
  const { run } = detail;
  if (!run) {
    return (
      <section class="panel" data-testid="run-page" data-run-id={id}>
        <h1 class="page-title">
          <a href="/runs" class="crumb">
            Runs
          </a>{' '}
          / Run
        </h1>
        {detail.missing ? (
          <EmptyState testId="run-missing">
            No run with the id <code>{id}</code> in this company. <a href="/runs">All runs</a>
          </EmptyState>
        ) : detail.error ? (
          <EmptyState>
            The run could not be loaded.{' '}
            <button type="button" class="link" onClick={detail.reload}>
              Try again
            </button>
          </EmptyState>
        ) : (
          <EmptyState>Loading…</EmptyState>
        )}
      </section>
    );
  }
  return (
    <div class="run-page" data-testid="run-page" data-run-id={id} data-status={run.status}>
      <RunTitle run={run} put={detail.put} />
      <RunFacts run={run} />
      <RunOutcome run={run} />
      <div class="run-streams">
        <RunOutput runId={id} status={run.status} />
        <RunTimeline runId={id} />
      </div>
      <RunContext run={run} />
    </div>
  );
}

/** A new id is a new run: nothing of the previous one's state carries over. */
export function RunPage({ id }: { id: string }) {
  return <RunView key={id} id={id} />;
}
