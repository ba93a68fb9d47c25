// Spec §6.11-C: a scheduled retry whose issue was reassigned or cancelled before it became due is
// cancelled instead of run.
import { eq } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { heartbeatRuns } from '../db/schema.ts';
import type { LiveEvent } from './live-events.ts';
import { gateStopMetadata } from './run-outcome.ts';
import { appendRunEvent } from './run-events.ts';
import { clearIssueLockIfHeldBy, type IssueRow, type RunRow, runStatusEvent, setWakeStatus } from './runs.ts';

/** Why a scheduled retry no longer applies to its issue, or null while it still does. */
export function staleRetryReason(run: RunRow, issue: IssueRow): 'issue_reassigned' | 'issue_cancelled' | null {
  if (run.status !== 'scheduled_retry') return null;
  if (issue.status === 'cancelled') return 'issue_cancelled';
  if (issue.assigneeAgentId !== run.agentId) return 'issue_reassigned';
  return null;
}

export async function cancelStaleScheduledRetry(
  tx: Transaction,
  events: LiveEvent[],
  run: RunRow,
  issue: IssueRow,
  code: 'issue_reassigned' | 'issue_cancelled',
  now: Date,
): Promise<RunRow> {
  const what = code === 'issue_reassigned' ? 'reassigned' : 'cancelled';
  const message = `Cancelled because the issue was ${what} before the scheduled retry became due`;
  const [cancelled] = await tx
    .update(heartbeatRuns)
    .set({
      status: 'cancelled',
      error: message,
      errorCode: code,
      finishedAt: now,
      // Nothing follows a gate cancel: it is settled at once.
      settledAt: now,
      updatedAt: now,
      resultJson: { ...(run.resultJson ?? {}), ...gateStopMetadata(code, 'stale_queued_run_gate') },
    })
    .where(eq(heartbeatRuns.id, run.id))
    .returning();
  await setWakeStatus(tx, run.wakeupRequestId, 'cancelled', now);
  await clearIssueLockIfHeldBy(tx, events, issue.id, run.id, now);
  await appendRunEvent(
    tx,
    events,
    {
      runId: run.id,
      eventType: 'lifecycle',
      level: 'warn',
      message,
      payload: {
        issueId: issue.id,
        issueStatus: issue.status,
        scheduledRetryAttempt: run.scheduledRetryAttempt,
        scheduledRetryAt: run.scheduledRetryAt,
        scheduledRetryReason: run.scheduledRetryReason,
        previousRetryAgentId: run.agentId,
        currentAssigneeAgentId: issue.assigneeAgentId,
      },
    },
    now,
  );
  events.push(runStatusEvent(cancelled));
  return cancelled;
}
