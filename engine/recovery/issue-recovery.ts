// Recovering assigned issues whose run ended badly: immediately on release (spec §6.9 step 3), and
// escalation to `blocked` with one explanatory comment once the automatic retry was used (§6.14.5).
import { and, eq, inArray } from 'drizzle-orm';
import type { Executor, Transaction } from '../../db/client.ts';
import { activityLog, heartbeatRuns, issueComments, issues } from '../../db/schema.ts';
import { escalationComment, failureSummary } from '../rules/escalation-text.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { isInvokable } from '../rules/heartbeat-policy.ts';
import { EXEC_PATH_STATUSES, issueLockEvent, type IssueRow, type RunRow, runQueuedEvent, UNSUCCESSFUL_STATUSES } from '../model/runs.ts';
import { stampIssueLock } from '../runs/issue-lock.ts';
import { insertSystemWakeup } from '../runs/system-wakeups.ts';

export type RecoveryKind = 'dispatch' | 'continuation';

/** What recovering an issue in a given status means. */
export function recoveryFor(status: IssueRow['status']) {
  return status === 'todo'
    ? { kind: 'dispatch' as const, reason: 'issue_assignment_recovery', retryReason: 'assignment_recovery', source: 'issue.assignment_recovery' }
    : { kind: 'continuation' as const, reason: 'issue_continuation_needed', retryReason: 'issue_continuation_needed', source: 'issue.continuation_recovery' };
}

/** Moves the issue to `blocked` with exactly one system comment saying why, and records it. */
export async function escalateIssue(
  tx: Executor,
  events: LiveEvent[],
  input: { issue: IssueRow; kind: RecoveryKind; during: 'reconciliation' | 'terminal_run_recovery'; latest: RunRow | null; now: Date },
): Promise<void> {
  const { issue, now, latest } = input;
  await tx.update(issues).set({ status: 'blocked', updatedAt: now }).where(eq(issues.id, issue.id));
  const body = escalationComment({
    kind: input.kind,
    during: input.during,
    code: latest?.errorCode ?? null,
    summary: failureSummary(latest?.error ?? null),
  });
  await tx.insert(issueComments).values({ companyId: issue.companyId, issueId: issue.id, body, authorUserId: 'system', createdAt: now, updatedAt: now });
  await tx.insert(activityLog).values({
    companyId: issue.companyId,
    actorType: 'system',
    actorId: 'heartbeat',
    action: 'issue.escalated',
    entityType: 'issue',
    entityId: issue.id,
    runId: latest?.id ?? null,
    details: { kind: input.kind, during: input.during, from: issue.status },
    createdAt: now,
  });
  events.push(issueLockEvent(issue, issue.executionRunId));
}

async function hasOtherExecPathRun(tx: Transaction, issueId: string, runId: string): Promise<boolean> {
  const runs = await tx
    .select({ id: heartbeatRuns.id })
    .from(heartbeatRuns)
    .where(and(eq(heartbeatRuns.issueId, issueId), inArray(heartbeatRuns.status, [...EXEC_PATH_STATUSES])));
  return runs.some((r) => r.id !== runId);
}

/**
 * Spec §6.9 step 3, inside the release transaction: an unsuccessful run of the assignee on an open
 * issue, with nothing else on the way, gets one recovery run, or the issue is escalated.
 */
export async function immediateRecovery(tx: Transaction, events: LiveEvent[], { run, issue, now }: { run: RunRow; issue: IssueRow; now: Date }): Promise<RunRow | null> {
  if (issue.status !== 'todo' && issue.status !== 'in_progress') return null;
  if (issue.assigneeUserId || issue.assigneeAgentId !== run.agentId) return null;
  if (!(UNSUCCESSFUL_STATUSES as readonly string[]).includes(run.status)) return null;
  if (await hasOtherExecPathRun(tx, issue.id, run.id)) return null;
  const agent = await tx.query.agents.findFirst({ where: { id: run.agentId } });
  const recovery = recoveryFor(issue.status);
  if (!agent || !isInvokable(agent.status) || issue.originKind === 'stranded_issue_recovery' || run.contextSnapshot.retryReason === recovery.retryReason) {
    await escalateIssue(tx, events, { issue, kind: recovery.kind, during: 'terminal_run_recovery', latest: run, now });
    return null;
  }
  const queued = await insertSystemWakeup(tx, {
    companyId: issue.companyId,
    agentId: agent.id,
    issueId: issue.id,
    reason: recovery.reason,
    payload: { issueId: issue.id, retryOfRunId: run.id },
    run: {
      status: 'queued',
      contextSnapshot: { issueId: issue.id, taskId: issue.id, taskKey: issue.id, wakeReason: recovery.reason, retryReason: recovery.retryReason, source: recovery.source, retryOfRunId: run.id },
      retryOfRunId: run.id,
    },
    now,
  });
  await stampIssueLock(tx, events, issue, queued, agent.name, now);
  events.push(runQueuedEvent(queued));
  return queued;
}
