// releaseIssueExecutionAndPromote (spec §6.9 steps 1–2): when a run ends, its issue's execution
// lock is released and the oldest deferred wakeup of the issue becomes a queued run.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { executePrepared, uuidArray, wakeupRowFromDriver } from '../store/statements.ts';
import type { Transaction } from '../../db/client.ts';
import { agents, issues, wakeupRequests } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { isInvokable } from '../rules/heartbeat-policy.ts';
import { type IssueRow, issueLockEvent, type RunRow, runQueuedEvent, type WakeupRow } from '../model/runs.ts';
import { stampIssueLock } from '../runs/issue-lock.ts';
import { writeContinuationSummaries } from '../issues/continuation-summary.ts';
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

/**
 * What a release does with an issue whose lock does not name the run. By default a free lock is
 * released all the same (the run may never have taken it: its deferred wakeups are promoted).
 * `heldOnly`: nothing is done unless the lock still names the run, checked on the locked issue row.
 * A cancelled run's release may be asked for twice, by its canceller and by whoever settles it
 * (§6.13, §6.11-H): the first clears the lock, so the second promotes nothing.
 */
export interface ReleaseOptions {
  immediateRecovery?: ImmediateRecoveryStep;
  heldOnly?: boolean;
}

/**
 * The release of one run's issue, in its own transaction, with the continuation summary the run
 * leaves (§16). `endedAs`: the run as it ended, when `run` is the row before (a cancel releases with
 * the row as it was, so that no recovery follows).
 */
export async function releaseIssueExecutionAndPromote(
  deps: EngineDeps,
  run: RunRow,
  options: ReleaseOptions & { endedAs?: RunRow } = {},
): Promise<ReleaseResult> {
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const [released] = await releaseIssues(tx, events, [run], now, options);
    await writeContinuationSummaries(tx, [options.endedAs ?? run], now);
    return released;
  });
}

/**
 * §6.9 for finished runs, one or many, in the caller's transaction: each run's issue is locked (all
 * of them in one statement, in id order), the execution locks the runs hold are cleared (one
 * statement), and each released issue gets its oldest deferred wakeup promoted (the deferred
 * wakeups of all of them read in one statement), or, when there is none, immediate recovery.
 * Runs are taken in order, so two runs of one issue see each other's release. Answers per run.
 */
export async function releaseIssues(
  tx: Transaction,
  events: LiveEvent[],
  runs: RunRow[],
  now: Date,
  options: ReleaseOptions = {},
): Promise<ReleaseResult[]> {
  if (runs.length === 0) return [];
  // A run whose issue is known only by the lock pointing at it (its issue id was cleared).
  const unknown = runs.filter((run) => issueIdOf(run) === null).map((run) => run.id);
  const lockedBy = new Map(
    unknown.length === 0
      ? []
      : (await tx.select({ id: issues.id, runId: issues.executionRunId }).from(issues).where(inArray(issues.executionRunId, unknown))).map((row) => [row.runId!, row.id]),
  );
  const issueIds = runs.map((run) => issueIdOf(run) ?? lockedBy.get(run.id) ?? null);
  const ids = [...new Set(issueIds.filter((id): id is string => id !== null))];
  if (ids.length === 0) return runs.map(() => ({ promoted: null }));
  const issueById = new Map((await tx.select().from(issues).where(inArray(issues.id, ids)).orderBy(asc(issues.id)).for('update')).map((issue) => [issue.id, issue]));
  const released: Array<{ run: RunRow; issue: IssueRow } | null> = runs.map((run, i) => {
    const issue = issueIds[i] ? issueById.get(issueIds[i]!) : undefined;
    if (!issue || (issue.executionRunId !== run.id && (issue.executionRunId !== null || options.heldOnly))) return null;
    if (issue.executionRunId === run.id) {
      Object.assign(issue, { executionRunId: null, executionAgentNameKey: null, executionLockedAt: null });
      events.push(issueLockEvent(issue, null));
    }
    return { run, issue };
  });
  // The locks' release and the read of the deferred wakeups touch different rows: sent together.
  const [, deferredByIssue] = await Promise.all([
    tx
      .update(issues)
      .set({ executionRunId: null, executionAgentNameKey: null, executionLockedAt: null, updatedAt: now })
      .where(and(inArray(issues.id, ids), inArray(issues.executionRunId, runs.map((run) => run.id)))),
    deferredWakes(tx, [...new Set(released.flatMap((r) => (r ? [r.issue] : [])))]),
  ]);
  const results: ReleaseResult[] = [];
  for (const item of released) {
    if (!item) {
      results.push({ promoted: null });
      continue;
    }
    const promoted = await promoteDeferredWake(tx, events, item.issue, deferredByIssue.get(item.issue.id) ?? [], now);
    if (promoted) {
      results.push({ promoted });
      continue;
    }
    results.push({ promoted: options.immediateRecovery ? await options.immediateRecovery(tx, events, { run: item.run, issue: item.issue, now }) : null });
  }
  return results;
}

const issueIdOf = (run: RunRow): string | null => run.issueId ?? (typeof run.contextSnapshot.issueId === 'string' ? run.contextSnapshot.issueId : null);

type DeferredWake = { wake: WakeupRow; agent: typeof agents.$inferSelect | null };

/**
 * The deferred wakeups of the issues (any agent), locked, oldest first, by issue. Read issue by
 * issue off wakeups_payload_issue_idx, so that the cost follows the issues released, not the size
 * of the table (a plan over every wakeup would be chosen for a long list of issues otherwise).
 */
async function deferredWakes(tx: Transaction, released: IssueRow[]): Promise<Map<string, DeferredWake[]>> {
  const byIssue = new Map<string, DeferredWake[]>();
  if (released.length === 0) return byIssue;
  const wakes = (
    await executePrepared(tx, sql`
      select w.* from unnest(${uuidArray(released.map((issue) => issue.id))}::text[]) as x(issue_id)
      cross join lateral (
        select * from agent_wakeup_requests w
        where (w.payload->>'issueId') = x.issue_id and w.status = 'deferred_issue_execution'
        offset 0
      ) w
      where w.company_id = any(${uuidArray([...new Set(released.map((issue) => issue.companyId))])}::uuid[])
      order by w.requested_at, w.id
      for update of w`)
  ).map(wakeupRowFromDriver);
  if (wakes.length === 0) return byIssue;
  const agentById = new Map(
    (await tx.select().from(agents).where(inArray(agents.id, [...new Set(wakes.map((wake) => wake.agentId))]))).map((agent) => [agent.id, agent]),
  );
  for (const wake of wakes) {
    const issueId = String((wake.payload as Record<string, unknown> | null)?.issueId);
    byIssue.set(issueId, [...(byIssue.get(issueId) ?? []), { wake, agent: agentById.get(wake.agentId) ?? null }]);
  }
  return byIssue;
}

/** §6.9 step 2: at most one of the issue's deferred wakeups (any agent; `deferred`, oldest first) becomes a queued run. */
async function promoteDeferredWake(tx: Transaction, events: LiveEvent[], issue: IssueRow, deferred: DeferredWake[], now: Date): Promise<RunRow | null> {
  // Taken off the list as they are used: a second run of the issue released in the same batch sees what is left.
  while (deferred.length > 0) {
    const { wake, agent } = deferred.shift()!;
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
