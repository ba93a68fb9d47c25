// enqueueWakeup on an issue (spec §6.1 step 3): serialised by a row lock on the issue; the request
// joins the run that owns the issue's execution (coalesced), waits behind another agent's, or
// behind its own agent's running run when it brings that run something it did not receive
// (deferred: the follow-up), is skipped while the issue's dependencies are blocked, or becomes a
// queued run.
import { and, asc, desc, eq, inArray, or, sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { heartbeatRuns, issues, wakeupRequests } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { readinessOf } from '../runs/issue-readiness.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { EXEC_PATH_STATUSES, type IssueRow, isExecPath, issueLockEvent, type RunRow, type WakeupRow } from '../model/runs.ts';
import { stampIssueLock } from '../runs/issue-lock.ts';
import { cancelStaleScheduledRetry, staleRetryReason } from '../recovery/stale-retry.ts';
import { withTransientRetry } from '../store/database-retry.ts';
import { isInteractionWake, mergeWakeContext, type WakeContext } from '../rules/wake-context.ts';
import { coalesceInto, createQueuedRun, type EnqueueResult, insertSkipped, needsFollowup, type PreparedWakeup, wakeValues } from '../runs/queue.ts';

/** Spec §6.1 step 3: the issue path, serialised by a row lock on the issue. */
export async function enqueueOnIssue(deps: EngineDeps, p: PreparedWakeup, issueId: string): Promise<EnqueueResult> {
  // Runs are locked before their issue (lockIssueRuns), as claims, finishes, cancels and retries
  // lock them. A run the issue gained between the two locks is locked after it; should that meet a
  // claim of the new run, PostgreSQL aborts one as a deadlock, and the enqueue, all-or-nothing, is
  // simply tried again.
  return withTransientRetry(() => enqueueOnIssueOnce(deps, p, issueId));
}

async function enqueueOnIssueOnce(deps: EngineDeps, p: PreparedWakeup, issueId: string): Promise<EnqueueResult> {
  return transact(deps, async (tx, events) => {
    await lockIssueRuns(tx, issueId);
    const [issue] = await tx
      .select()
      .from(issues)
      .where(and(eq(issues.id, issueId), eq(issues.companyId, p.agent.companyId)))
      .for('update');
    if (!issue) return insertSkipped(deps, p, 'issue_execution_issue_not_found', {}, tx);

    const active = await findActiveIssueRun(tx, events, issue, p.now);

    const readiness = await readinessOf(tx, issue.id);
    if (!readiness.isDependencyReady) {
      if (isInteractionWake(p.ctx)) {
        p.ctx = {
          ...p.ctx,
          dependencyBlockedInteraction: true,
          unresolvedBlockerIssueIds: readiness.unresolvedBlockerIssueIds,
          unresolvedBlockerCount: readiness.unresolvedBlockerCount,
          unresolvedBlockerSummaries: readiness.unresolvedBlockers,
        };
      } else if (!active) {
        return insertSkipped(deps, p, 'issue_dependencies_blocked', {
          issueId: issue.id,
          unresolvedBlockerIssueIds: readiness.unresolvedBlockerIssueIds,
        }, tx);
      }
    }

    if (active) {
      const same = active.agentId === p.agent.id; // Decisions 7: ids, not name keys
      // The agent's own run already executing and the request brings it something it did not
      // receive: the follow-up is the deferred wakeup behind it (one per agent and issue, later
      // such requests merge into it), promoted to a queued run when the run releases the issue.
      if (same && !needsFollowup(p, active)) {
        const { wake, run } = await coalesceInto(tx, p, active, 'issue_execution_same_name');
        return { outcome: 'coalesced', wakeupRequest: wake, run, startAgentId: p.agent.id };
      }
      return { outcome: 'deferred', wakeupRequest: await deferBehind(tx, p, issue.id), run: null, startAgentId: null };
    }
    return createQueuedRun(tx, events, p, issue.id);
  });
}

/**
 * The runs findActiveIssueRun may lock under the issue's lock (the run holding its execution lock
 * and its runs on the execution path), locked first. A claim holds its run and then stamps the
 * issue; if the enqueue held the issue and then waited for that run, each would wait for the other.
 */
async function lockIssueRuns(tx: Transaction, issueId: string): Promise<void> {
  const lockHolder = tx.select({ id: issues.executionRunId }).from(issues).where(eq(issues.id, issueId));
  await tx
    .select({ id: heartbeatRuns.id })
    .from(heartbeatRuns)
    .where(or(inArray(heartbeatRuns.id, lockHolder), and(eq(heartbeatRuns.issueId, issueId), inArray(heartbeatRuns.status, [...EXEC_PATH_STATUSES]))))
    .orderBy(asc(heartbeatRuns.id))
    .for('update');
}

/**
 * Spec §6.1 steps 3b–3c: the run that owns the issue's execution right now, repairing the lock on
 * the way (stale scheduled retries are cancelled, a dangling lock is cleared, an unlocked exec-path
 * run adopts the lock).
 */
async function findActiveIssueRun(tx: Transaction, events: LiveEvent[], issue: IssueRow, now: Date): Promise<RunRow | null> {
  if (issue.executionRunId) {
    const [locked] = await tx.select().from(heartbeatRuns).where(eq(heartbeatRuns.id, issue.executionRunId)).for('update');
    if (locked && isExecPath(locked.status)) {
      const stale = staleRetryReason(locked, issue);
      if (!stale) return locked;
      await cancelStaleScheduledRetry(tx, events, locked, issue, stale, now);
    }
    await tx
      .update(issues)
      .set({ executionRunId: null, executionAgentNameKey: null, executionLockedAt: null, updatedAt: now })
      .where(eq(issues.id, issue.id));
    events.push(issueLockEvent(issue, null));
  }
  const candidates = await tx
    .select()
    .from(heartbeatRuns)
    .where(and(eq(heartbeatRuns.issueId, issue.id), inArray(heartbeatRuns.status, [...EXEC_PATH_STATUSES])))
    .orderBy(desc(sql`${heartbeatRuns.status} = 'running'`), asc(heartbeatRuns.createdAt), asc(heartbeatRuns.id))
    .for('update');
  for (const candidate of candidates) {
    const stale = staleRetryReason(candidate, issue);
    if (stale) {
      await cancelStaleScheduledRetry(tx, events, candidate, issue, stale, now);
      continue;
    }
    const owner = await tx.query.agents.findFirst({ where: { id: candidate.agentId }, columns: { name: true } });
    await stampIssueLock(tx, events, issue, candidate, owner?.name ?? '', now);
    return candidate;
  }
  return null;
}

/** Spec §6.1 step 3e: wait behind the active run as (or merged into) a deferred wakeup. */
async function deferBehind(tx: Transaction, p: PreparedWakeup, issueId: string): Promise<WakeupRow> {
  const [existing] = await tx
    .select()
    .from(wakeupRequests)
    .where(
      and(
        eq(wakeupRequests.companyId, p.agent.companyId),
        eq(wakeupRequests.agentId, p.agent.id),
        eq(wakeupRequests.status, 'deferred_issue_execution'),
        sql`${wakeupRequests.payload}->>'issueId' = ${issueId}`,
      ),
    )
    .orderBy(asc(wakeupRequests.requestedAt), asc(wakeupRequests.id))
    .limit(1)
    .for('update');
  if (existing) {
    const previous = (existing.payload ?? {}) as Record<string, unknown>;
    const [merged] = await tx
      .update(wakeupRequests)
      .set({
        payload: {
          ...previous,
          ...(p.payload ?? {}),
          issueId,
          _deferredWakeContext: mergeWakeContext(previous._deferredWakeContext as WakeContext, p.ctx),
        },
        coalescedCount: existing.coalescedCount + 1,
        updatedAt: p.now,
      })
      .where(eq(wakeupRequests.id, existing.id))
      .returning();
    return merged;
  }
  const [wake] = await tx
    .insert(wakeupRequests)
    .values({
      ...wakeValues(p),
      status: 'deferred_issue_execution',
      reason: 'issue_execution_deferred',
      payload: { ...(p.payload ?? {}), issueId, _deferredWakeContext: p.ctx },
    })
    .returning();
  return wake;
}
