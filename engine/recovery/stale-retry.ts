// Spec §6.11-C: a scheduled retry whose issue was reassigned or cancelled before it became due is
// cancelled instead of run.
import type { Transaction } from '../../db/client.ts';
import type { LiveEvent } from '../live/live-events.ts';
import type { IssueRow, RunRow } from '../model/runs.ts';
import { cancelBeforeStart } from '../runs/cancel.ts';

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
  return cancelBeforeStart(
    tx,
    events,
    run,
    {
      code,
      message,
      timeoutSource: 'stale_queued_run_gate',
      wakeStatus: 'cancelled',
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
}
