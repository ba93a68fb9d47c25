// retryRun: an operator's retry of a finished, unsuccessful run. It is a wakeup like any other
// (so it coalesces, defers and claims by the usual rules), whose new run is linked to the old one.
import type { EngineDeps } from './deps.ts';
import { conflict, notFound } from './errors.ts';
import type { EnqueueResult, EnqueueWakeupInput } from './wakeups.ts';

export interface ManualRetryInput {
  companyId: string;
  runId: string;
  actor?: EnqueueWakeupInput['actor'];
}

export async function enqueueManualRetry(
  deps: EngineDeps,
  wake: (input: EnqueueWakeupInput) => Promise<EnqueueResult>,
  input: ManualRetryInput,
): Promise<EnqueueResult> {
  const run = await deps.db.query.heartbeatRuns.findFirst({ where: { id: input.runId, companyId: input.companyId } });
  if (!run) throw notFound('Run');
  if (!['failed', 'timed_out', 'cancelled'].includes(run.status)) {
    throw conflict(`Only failed, timed out or cancelled runs can be retried; this run is ${run.status}`, { status: run.status });
  }
  return wake({
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
}
