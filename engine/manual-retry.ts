// retryRun: an operator's retry of a finished, unsuccessful run. It is a wakeup like any other
// (so it coalesces, defers and claims by the usual rules), whose new run is linked to the old one.
// An operator's retry means "now": when the work already has an automatic retry scheduled, that
// retry is what the wakeup joins, so it is promoted to the queued pool first instead of letting
// the operator wait minutes for its slot (the spec has no manual retry; this mirrors §6.12's
// promotion of a due retry).
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { heartbeatRuns, issues } from '../db/schema.ts';
import { agentAdvisoryLock } from './agent-lock.ts';
import { type EngineDeps, transact } from './deps.ts';
import { conflict, notFound } from './errors.ts';
import type { LiveEvent } from './live-events.ts';
import { appendRunEvent } from './run-events.ts';
import { EXEC_PATH_STATUSES, type RunRow, runQueuedEvent } from './runs.ts';
import { staleRetryReason } from './stale-retry.ts';
import { wakeScopeKey } from './wake-context.ts';
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
  await promoteScheduledRetryOf(deps, run);
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
    // The promoted retry it joins starts at once, not at the next tick.
    runNow: true,
  });
  // Lost a race (the promoted run already ended and scheduled its own retry, which the wakeup then
  // joined): that one is promoted too, and the loop starts it at its next tick.
  if (result.outcome === 'coalesced' && result.run?.status === 'scheduled_retry') {
    const target = result.run;
    const promoted = await transact(deps, (tx, events) => promote(tx, events, target, run.id, deps.clock.now()));
    if (promoted) return { ...result, run: promoted };
  }
  return result;
}

/**
 * The run the retry's wakeup will join, when that is a scheduled retry, becomes queued now (with a
 * lifecycle event saying why). Picked as the wakeup path picks (issue-wakeups.ts findActiveIssueRun,
 * plain-wakeups.ts startScopeReads), under the same locks, so it is the same run.
 */
async function promoteScheduledRetryOf(deps: EngineDeps, failed: RunRow): Promise<void> {
  const issueId = failed.issueId ?? (typeof failed.contextSnapshot.issueId === 'string' ? failed.contextSnapshot.issueId : null);
  await transact(deps, async (tx, events) => {
    const target = issueId ? await issueRunToJoin(tx, failed.companyId, issueId) : await scopeRunToJoin(tx, failed);
    if (target?.status !== 'scheduled_retry' || target.agentId !== failed.agentId) return;
    await promote(tx, events, target, failed.id, deps.clock.now());
  });
}

/** scheduled_retry -> queued (guarded), with a lifecycle event saying why; null if it moved on. */
async function promote(tx: Transaction, events: LiveEvent[], target: RunRow, retriedRunId: string, now: Date): Promise<RunRow | null> {
  const [run] = await tx
    .update(heartbeatRuns)
    .set({ status: 'queued', updatedAt: now })
    .where(and(eq(heartbeatRuns.id, target.id), eq(heartbeatRuns.status, 'scheduled_retry')))
    .returning();
  if (!run) return null;
  const dueAt = run.scheduledRetryAt?.toISOString() ?? null;
  await appendRunEvent(
    tx,
    events,
    {
      runId: run.id,
      eventType: 'lifecycle',
      level: 'info',
      message: `Scheduled retry promoted to the queued run pool by a manual retry${dueAt ? ` (it was due at ${dueAt})` : ''}`,
      payload: { manualRetryOfRunId: retriedRunId, scheduledRetryAt: dueAt, scheduledRetryAttempt: run.scheduledRetryAttempt },
    },
    now,
  );
  events.push(runQueuedEvent(run));
  return run;
}

/** The run owning the issue's execution: the lock holder, else the one the issue path would adopt. */
async function issueRunToJoin(tx: Transaction, companyId: string, issueId: string): Promise<RunRow | null> {
  const [issue] = await tx.select().from(issues).where(and(eq(issues.id, issueId), eq(issues.companyId, companyId))).for('update');
  if (!issue) return null;
  const candidates = await tx
    .select()
    .from(heartbeatRuns)
    .where(and(eq(heartbeatRuns.issueId, issue.id), inArray(heartbeatRuns.status, [...EXEC_PATH_STATUSES])))
    .orderBy(
      desc(sql`${heartbeatRuns.id} = ${issue.executionRunId}`),
      desc(sql`${heartbeatRuns.status} = 'running'`),
      asc(heartbeatRuns.createdAt),
      asc(heartbeatRuns.id),
    )
    .for('update');
  // A stale scheduled retry is cancelled by the wakeup, not promoted.
  return candidates.find((run) => staleRetryReason(run, issue) === null) ?? null;
}

/** The run of the same task scope a plain wakeup folds into: queued, else scheduled, else running. */
async function scopeRunToJoin(tx: Transaction, failed: RunRow): Promise<RunRow | null> {
  await agentAdvisoryLock(tx, failed.agentId);
  const [picked] = await tx
    .select()
    .from(heartbeatRuns)
    .where(
      and(
        eq(heartbeatRuns.agentId, failed.agentId),
        inArray(heartbeatRuns.status, [...EXEC_PATH_STATUSES]),
        sql`coalesce(${heartbeatRuns.contextSnapshot}->>'taskKey', ${heartbeatRuns.contextSnapshot}->>'taskId', ${heartbeatRuns.contextSnapshot}->>'issueId') is not distinct from ${wakeScopeKey(failed.contextSnapshot)}::text`,
      ),
    )
    .orderBy(
      sql`case ${heartbeatRuns.status} when 'queued' then 0 when 'scheduled_retry' then 1 else 2 end`,
      sql`case when ${heartbeatRuns.status} = 'running' then -extract(epoch from ${heartbeatRuns.createdAt}) else extract(epoch from ${heartbeatRuns.createdAt}) end`,
    )
    .limit(1)
    .for('update');
  return picked ?? null;
}
