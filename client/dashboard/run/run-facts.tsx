// The run page's facts, in cards: what the run is (agent, issue, source, times), its liveness and
// the evidence for it, its retry chain both ways, and its session and cost.
import type { ComponentChildren } from 'preact';
import { LivenessBadge, SilenceBadge, StatusBadge } from '../ui/badges.tsx';
import { label, money, prettyJson, shortId, tokens } from '../ui/format.ts';
import { hrefs } from '../ui/link.tsx';
import { ClockTime, Countdown, RelativeTime, RunDuration } from '../ui/time.tsx';
import type { RunDetail } from './use-run-detail.ts';

/** A term and its value; nothing when there is no value. */
function Field({ name, children, show = true }: { name: string; children: ComponentChildren; show?: boolean }) {
  if (!show) return null;
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

function RunCard({ run }: { run: RunDetail }) {
  return (
    <section class="panel card-facts" aria-label="Run">
      <h2>Run</h2>
      <dl>
        <Field name="Agent">
          <a href={hrefs.agent(run.agent.id)} data-testid="run-agent-link" title={run.agent.name} class="clamp">
            {run.agent.name}
          </a>
        </Field>
        <Field name="Issue">
          {run.issue ? (
            <a href={hrefs.issue(run.issue.id)} data-testid="run-issue-link" title={`${run.issue.identifier} ${run.issue.title}`} class="clamp">
              <span class="ident">{run.issue.identifier}</span> {run.issue.title}
            </a>
          ) : (
            <span class="muted">—</span>
          )}
        </Field>
        <Field name="Source">{`${label(run.invocationSource)}${run.triggerDetail ? ` · ${label(run.triggerDetail)}` : ''}`}</Field>
        <Field name="Created">
          <ClockTime iso={run.createdAt} /> <span class="muted">(<RelativeTime iso={run.createdAt} />)</span>
        </Field>
        <Field name="Started" show={!!run.startedAt}>
          <ClockTime iso={run.startedAt} />
        </Field>
        <Field name="Finished" show={!!run.finishedAt}>
          <ClockTime iso={run.finishedAt} />
        </Field>
        <Field name="Duration" show={!!run.startedAt}>
          <RunDuration run={run} />
        </Field>
        <Field name="Process" show={run.processPid != null && run.status === 'RUNNING'}>
          pid {run.processPid}
        </Field>
        <Field name="Exit code" show={run.exitCode != null || !!run.signal}>
          {run.exitCode ?? '—'}
          {run.signal ? ` (${run.signal})` : ''}
        </Field>
      </dl>
    </section>
  );
}

function LivenessCard({ run }: { run: RunDetail }) {
  const { liveness } = run;
  return (
    <section class="panel card-facts" aria-label="Liveness" data-testid="run-liveness">
      <h2>Liveness</h2>
      <dl>
        <Field name="State">{liveness.state ? <LivenessBadge state={liveness.state} /> : <span class="muted">not classified yet</span>}</Field>
        <Field name="Reason" show={!!liveness.reason}>
          <div class="long-text">{liveness.reason}</div>
        </Field>
        <Field name="Last useful action" show={!!liveness.lastUsefulActionAt}>
          <RelativeTime iso={liveness.lastUsefulActionAt} testId="run-last-useful-action" />
        </Field>
        <Field name="Next action" show={!!liveness.nextAction}>
          <div class="long-text" data-testid="run-next-action">
            {liveness.nextAction}
          </div>
        </Field>
        <Field name="Continuation" show={liveness.continuationAttempt > 0}>
          attempt {liveness.continuationAttempt}
        </Field>
        <Field name="Silence" show={!!run.outputSilence && run.outputSilence.level !== 'OK'}>
          <SilenceBadge silence={run.outputSilence} />
        </Field>
        <Field name="Last output" show={!!run.lastOutputAt}>
          <RelativeTime iso={run.lastOutputAt} />
        </Field>
      </dl>
    </section>
  );
}

function RetriesCard({ run }: { run: RunDetail }) {
  const { retry } = run;
  const retryOf = retry.retryOf;
  return (
    <section class="panel card-facts" aria-label="Retries" data-testid="run-retries">
      <h2>Retries</h2>
      <dl>
        <Field name="Retry of">
          {retryOf ? (
            <span class="chain-link">
              <a href={hrefs.run(retryOf.id)} data-testid="retry-of-link" data-run-id={retryOf.id}>
                ← run {shortId(retryOf.id)}
              </a>{' '}
              <StatusBadge status={retryOf.status} />
            </span>
          ) : (
            <span class="muted">— (first attempt)</span>
          )}
        </Field>
        <Field name="Retried by">
          {retry.retries.length ? (
            <ul class="chain">
              {retry.retries.map((next) => (
                <li key={next.id} class="chain-link">
                  <a href={hrefs.run(next.id)} data-testid="retry-link" data-run-id={next.id}>
                    run {shortId(next.id)} →
                  </a>{' '}
                  <StatusBadge status={next.status} />
                </li>
              ))}
            </ul>
          ) : (
            <span class="muted">—</span>
          )}
        </Field>
        <Field name="Attempt" show={retry.attempt > 0}>
          {retry.attempt} of {retry.maxAttempts}
          {run.status === 'SCHEDULED_RETRY' && retry.scheduledAt ? (
            <>
              , due <Countdown to={retry.scheduledAt} />
            </>
          ) : null}
        </Field>
        <Field name="Reason" show={!!retry.reason}>
          {retry.reason}
        </Field>
        <Field name="Exhausted" show={!!retry.exhaustedReason}>
          {retry.exhaustedReason}
        </Field>
      </dl>
    </section>
  );
}

/**
 * The session the run resumed (or that it started a fresh one) and the one it left. Nothing before
 * the claim decided it, nor for a run with no task and no session (an agent that does not resume).
 */
function Session({ run }: { run: RunDetail }) {
  const { sessionIdBefore: before, sessionIdAfter: after } = run;
  if (!run.startedAt || (!before && !after && !run.taskKey)) return null;
  return (
    <div data-testid="run-session">
      {before ? (
        <div>
          resumed <code title={before}>{before}</code>
        </div>
      ) : (
        <div class="muted">fresh session</div>
      )}
      {after ? (
        <div>
          left <code title={after}>{after}</code>
        </div>
      ) : null}
    </div>
  );
}

/** What the run cost: its billed cents, its tokens, and how it is billed (written as it finished). */
function Cost({ cost }: { cost: NonNullable<RunDetail['cost']> }) {
  const billing = [label(cost.billingType), cost.model].filter(Boolean).join(' · ');
  return (
    <div data-testid="run-cost">
      <div>{`${money(cost.costCents)} (${tokens(cost.costCents)}¢)`}</div>
      <div class="muted">{`${tokens(cost.inputTokens)} in · ${tokens(cost.cachedInputTokens)} cached · ${tokens(cost.outputTokens)} out`}</div>
      {billing ? <div class="muted">{billing}</div> : null}
    </div>
  );
}

function SessionCostCard({ run }: { run: RunDetail }) {
  const session = !!run.startedAt && !!(run.sessionIdBefore || run.sessionIdAfter || run.taskKey);
  return (
    <section class="panel card-facts" aria-label="Session and cost">
      <h2>Session &amp; cost</h2>
      <dl>
        <Field name="Task" show={!!run.taskKey}>
          <code data-testid="run-task-key">{run.taskKey}</code>
        </Field>
        <Field name="Session" show={session}>
          <Session run={run} />
        </Field>
        <Field name="Cost">{run.cost ? <Cost cost={run.cost} /> : <span class="muted">{run.finishedAt ? 'none' : 'when it finishes'}</span>}</Field>
        <Field name="Usage" show={run.usage != null}>
          <pre class="json small" data-testid="run-usage">
            {prettyJson(run.usage)}
          </pre>
        </Field>
      </dl>
    </section>
  );
}

export function RunFacts({ run }: { run: RunDetail }) {
  return (
    <div class="run-facts" data-testid="run-detail">
      <RunCard run={run} />
      <LivenessCard run={run} />
      <RetriesCard run={run} />
      <SessionCostCard run={run} />
    </div>
  );
}
