// releaseIssueExecutionAndPromote (spec §6.9 steps 1–2): when a run ends, its issue's execution
// lock is released and the oldest deferred wakeup of the issue becomes a queued run.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { agents, issues, wakeupRequests } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { isInvokable } from '../rules/heartbeat-policy.ts';
import { type IssueRow, issueLockEvent, type RunRow, runQueuedEvent } from '../model/runs.ts';
import { stampIssueLock } from '../runs/issue-lock.ts';
import { queueRuns } from '../runs/queue.ts';
import { enrichWakeContext, positiveIntOrZero, type WakeContext, wakeCommentIdsOf } from '../rules/wake-context.ts';

export interface ReleaseResult {
  /** The run a deferred wakeup was promoted to; the engine starts it after the commit. */
  promoted: RunRow | null;
}

/** Issue-scoped step the recovery work plugs in after promotion found nothing (spec §6.9 step 3). */
export type ImmediateRecoveryStep = (
  tx: Transaction,
  events: LiveEvent[],
  input: { run: RunRow; issue: IssueRow; now: Date },
) => Promise<RunRow | null>;

export function releaseIssueExecutionAndPromote(
  deps: EngineDeps,
  run: RunRow,
  options: { immediateRecovery?: ImmediateRecoveryStep } = {},
): Promise<ReleaseResult> {
  return transact(deps, (tx, events) => releaseIssueExecutionIn(tx, events, run, deps.clock.now(), options));
}

/** releaseIssueExecutionAndPromote in the caller's transaction (the follow-up steps run it with the comment policy). */
export async function releaseIssueExecutionIn(
  tx: Transaction,
  events: LiveEvent[],
  run: RunRow,
  now: Date,
  options: { immediateRecovery?: ImmediateRecoveryStep } = {},
): Promise<ReleaseResult> {
  const issueId =
    run.issueId ??
    (typeof run.contextSnapshot.issueId === 'string' ? run.contextSnapshot.issueId : null) ??
    (await tx.select({ id: issues.id }).from(issues).where(eq(issues.executionRunId, run.id)).limit(1))[0]?.id;
  if (!issueId) return { promoted: null };
  const [issue] = await tx.select().from(issues).where(eq(issues.id, issueId)).for('update');
  if (!issue) return { promoted: null };
  if (issue.executionRunId && issue.executionRunId !== run.id) return { promoted: null };
  if (issue.executionRunId === run.id) {
    await tx
      .update(issues)
      .set({ executionRunId: null, executionAgentNameKey: null, executionLockedAt: null, updatedAt: now })
      .where(eq(issues.id, issue.id));
    Object.assign(issue, { executionRunId: null, executionAgentNameKey: null, executionLockedAt: null });
    events.push(issueLockEvent(issue, null));
  }

  const promoted = await promoteDeferredWake(tx, events, issue, now);
  if (promoted) return { promoted };
  const recovered = options.immediateRecovery ? await options.immediateRecovery(tx, events, { run, issue, now }) : null;
  return { promoted: recovered };
}

/** Spec §6.9 step 2: at most one deferred wakeup of the issue (any agent) becomes a queued run. */
async function promoteDeferredWake(tx: Transaction, events: LiveEvent[], issue: IssueRow, now: Date): Promise<RunRow | null> {
  const deferred = await tx
    .select({ wake: wakeupRequests, agent: agents })
    .from(wakeupRequests)
    .leftJoin(agents, eq(agents.id, wakeupRequests.agentId))
    .where(
      and(
        eq(wakeupRequests.status, 'deferred_issue_execution'),
        eq(wakeupRequests.companyId, issue.companyId),
        sql`${wakeupRequests.payload}->>'issueId' = ${issue.id}`,
      ),
    )
    .orderBy(asc(wakeupRequests.requestedAt), asc(wakeupRequests.id))
    .for('update', { of: wakeupRequests });
  for (const { wake, agent } of deferred) {
    if (!agent || !isInvokable(agent.status)) {
      await tx
        .update(wakeupRequests)
        .set({ status: 'failed', error: 'Deferred wake could not be promoted: agent is not invokable', finishedAt: now, updatedAt: now })
        .where(eq(wakeupRequests.id, wake.id));
      continue;
    }
    const payload = (wake.payload ?? {}) as Record<string, unknown>;
    let ctx = enrichWakeContext((payload._deferredWakeContext ?? {}) as WakeContext, {
      source: wake.source,
      triggerDetail: wake.triggerDetail,
      reason: wake.reason,
      payload,
    });
    const reopens =
      wakeCommentIdsOf(ctx).length > 0 &&
      (issue.status === 'done' || issue.status === 'cancelled') &&
      (wake.requestedByActorType === 'user' || ctx.wakeReason === 'issue_reopened_via_comment');
    if (reopens) {
      ctx = { ...ctx, reopenedFrom: issue.status };
      await tx.update(issues).set({ status: 'todo', executionState: null, updatedAt: now }).where(eq(issues.id, issue.id));
      issue.status = 'todo';
    }
    // The wakeup exists: it is linked to its new run below.
    const {
      runs: [run],
    } = await queueRuns(tx, [
      {
        wake: null,
        run: {
          id: randomUUID(),
          companyId: wake.companyId,
          agentId: agent.id,
          issueId: issue.id,
          invocationSource: wake.source,
          triggerDetail: wake.triggerDetail,
          status: 'queued',
          wakeupRequestId: wake.id,
          contextSnapshot: ctx,
          continuationAttempt: positiveIntOrZero(ctx.livenessContinuationAttempt),
          createdAt: now,
          updatedAt: now,
        },
      },
    ]);
    await tx
      .update(wakeupRequests)
      .set({ status: 'queued', reason: 'issue_execution_promoted', runId: run.id, claimedAt: null, finishedAt: null, error: null, updatedAt: now })
      .where(eq(wakeupRequests.id, wake.id));
    if (issue.assigneeAgentId === agent.id) await stampIssueLock(tx, events, issue, run, agent.name, now);
    events.push(runQueuedEvent(run));
    return run;
  }
  return null;
}
