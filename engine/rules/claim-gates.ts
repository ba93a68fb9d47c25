// The claim gates (docs/engine.md §6.3 step 2): reasons a queued issue run must not start any more.
// A pure rule; the claim (claim.ts) records the stop.
import type { IssueReadiness } from '../model/issues.ts';
import type { IssueRow, RunRow } from '../model/runs.ts';
import { isInteractionWake, latestWakeCommentId } from './wake-context.ts';

export interface Gate {
  code: string;
  message: string;
  timeoutSource: 'dependency_gate' | 'stale_queued_run_gate';
}

/** Spec §6.3 step 2: reasons a queued issue run must not start any more. */
export function claimGate(
  run: RunRow,
  issue: IssueRow | null,
  readiness: IssueReadiness | null,
): Gate | null {
  const ctx = run.contextSnapshot;
  const issueId = run.issueId ?? (typeof ctx.issueId === 'string' ? ctx.issueId : null);
  if (!issueId) return null;
  const stale = (code: string, message: string): Gate => ({ code, message, timeoutSource: 'stale_queued_run_gate' });
  if (!issue) return stale('issue_not_found', 'Cancelled because the issue no longer exists');
  const interaction = isInteractionWake(ctx);
  const wakeComment = latestWakeCommentId(ctx) !== null;
  if (readiness && !readiness.isDependencyReady && !interaction) {
    return {
      code: 'issue_dependencies_blocked',
      message:
        'Cancelled because issue dependencies are still blocked; the engine will wake the assignee when blockers resolve',
      timeoutSource: 'dependency_gate',
    };
  }
  if (issue.assigneeAgentId !== run.agentId && !interaction) {
    return stale('issue_assignee_changed', 'Cancelled because the issue is no longer assigned to this agent');
  }
  if ((issue.status === 'done' || issue.status === 'cancelled') && !wakeComment && !ctx.resumeIntent && !ctx.followUpRequested) {
    return stale('issue_terminal_status', `Cancelled because the issue is already ${issue.status}`);
  }
  const participant = (issue.executionState as { currentParticipant?: unknown } | null)?.currentParticipant;
  if (issue.status === 'in_review' && participant !== run.agentId && !wakeComment) {
    return stale('issue_review_participant_changed', 'Cancelled because the review moved to another participant');
  }
  return null;
}

/**
 * §6.4 step 2, whether the run checks its issue out when it starts: an assigned, ready issue in an
 * open state, for a wake that is not a mention or an execution follow-up. (Whether it worked, the
 * issue being in todo, backlog or blocked, is recorded in the context as `issueCheckedOut`.)
 */
export function wantsCheckout(run: RunRow, issue: IssueRow | null, readiness: IssueReadiness | null, agentId: string): boolean {
  const reason = typeof run.contextSnapshot.wakeReason === 'string' ? run.contextSnapshot.wakeReason : null;
  if (!run.issueId || !reason || reason === 'issue_comment_mentioned' || reason.startsWith('execution_')) return false;
  if (!issue || issue.assigneeAgentId !== agentId) return false;
  if (!['todo', 'backlog', 'blocked', 'in_progress'].includes(issue.status)) return false;
  return readiness?.isDependencyReady ?? true;
}
