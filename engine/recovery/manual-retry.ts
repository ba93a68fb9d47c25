// retryRun: an operator's retry of a finished, unsuccessful run. It is a wakeup like any other
// (so it coalesces, defers and claims by the usual rules), whose new run is linked to the old one.
// An operator's retry means "now": when the wakeup joins an automatic retry still waiting for its
// slot, that retry is promoted to the queued pool and started, instead of letting the operator wait
// minutes (the spec has no manual retry; this mirrors §6.12's promotion of a due retry).
import { promoteScheduledRetry } from '../runs/queue.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { conflict, notFound } from '../model/errors.ts';
import type { EnqueueResult, EnqueueWakeupInput } from '../wakeups/enqueue.ts';

export interface ManualRetryInput {
  companyId: string;
  runId: string;
  actor?: EnqueueWakeupInput['actor'];
}

export async function enqueueManualRetry(
  deps: EngineDeps,
  wake: (input: EnqueueWakeupInput) => Promise<EnqueueResult>,
  start: (agentId: string) => void,
  input: ManualRetryInput,
): Promise<EnqueueResult> {
  const run = await deps.db.query.heartbeatRuns.findFirst({ where: { id: input.runId, companyId: input.companyId } });
  if (!run) throw notFound('Run');
  if (!['failed', 'timed_out', 'cancelled'].includes(run.status)) {
    throw conflict(`Only failed, timed out or cancelled runs can be retried; this run is ${run.status}`, { status: run.status });
  }
  const result = await wake({
    companyId: run.companyId,
    agentId: run.agentId,
    source: 'on_demand',
    triggerDetail: 'manual',
    reason: 'manual_retry',
    payload: { ...(run.issueId ? { issueId: run.issueId } : {}), retryOfRunId: run.id },
    actor: input.actor ?? null,
    context: { ...run.contextSnapshot, retryOfRunId: run.id, retryReason: 'manual_retry' },
    // Linked as it is created: a later update could hold the queued row just as it is claimed.
    retryOfRunId: run.id,
  });
  const joined = result.run;
  if (result.outcome !== 'coalesced' || joined?.status !== 'scheduled_retry') return result;
  const now = deps.clock.now();
  const dueAt = joined.scheduledRetryAt?.toISOString() ?? null;
  const promoted = await transact(deps, (tx, events) =>
    promoteScheduledRetry(tx, events, joined.id, now, {
      message: `Scheduled retry promoted to the queued run pool by a manual retry${dueAt ? ` (it was due at ${dueAt})` : ''}`,
      payload: { manualRetryOfRunId: run.id, scheduledRetryAt: dueAt, scheduledRetryAttempt: joined.scheduledRetryAttempt },
    }),
  );
  if (!promoted) return result;
  start(promoted.agentId);
  return { ...result, run: promoted };
}
