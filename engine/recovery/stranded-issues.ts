// reconcileStrandedAssignedIssues (spec §6.14): assigned open issues with nothing on the way to
// execution are dispatched again once; when that was already tried, they are escalated.
import { linkRetryOf } from '../runs/annotations.ts';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { WakeupStatus } from '../../db/enums.ts';
import { heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { Wake } from '../issues/issues.ts';
import { isInvokable, NON_INVOKABLE_AGENT_STATUSES } from '../rules/heartbeat-policy.ts';
import { executePrepared, issueRowFromDriver } from '../store/statements.ts';
import { escalateIssue, recoveryFor } from './issue-recovery.ts';
import { EXEC_PATH_STATUSES, type IssueRow, type RunRow } from '../model/runs.ts';

/** What a pass did; `skipped`: candidates (strandedCandidates) that reconcileIssue then left alone. */
export interface StrandedResult {
  assignmentDispatched: number;
  dispatchRequeued: number;
  continuationRequeued: number;
  escalated: number;
  skipped: number;
  issueIds: string[];
}

export async function reconcileStrandedAssignedIssues(deps: EngineDeps, wake: Wake): Promise<StrandedResult> {
  const result: StrandedResult = { assignmentDispatched: 0, dispatchRequeued: 0, continuationRequeued: 0, escalated: 0, skipped: 0, issueIds: [] };
  for (const issue of await strandedCandidates(deps)) {
    const outcome = await reconcileIssue(deps, wake, issue);
    result[outcome] += 1;
    if (outcome !== 'skipped') result.issueIds.push(issue.id);
  }
  return result;
}

type Outcome = Exclude<keyof StrandedResult, 'issueIds'>;

/**
 * §6.14 step 1, and the checks of step 2 that leave an issue alone, in one statement: the open
 * issues assigned to an agent that can be invoked, with no run on the way to execution, no wakeup
 * deferred behind one, and whose latest run did not succeed. At thousands of open issues almost all
 * are being worked on: they cost the pass nothing, where each used to cost it two to five statements
 * of its own (and the engine's loop waited for the pass). reconcileIssue checks each one again.
 */
async function strandedCandidates(deps: EngineDeps): Promise<IssueRow[]> {
  // An issue's runs are read once, through its index (runs_issue_created_idx), for both checks on
  // them: written as two subqueries, a planner without fresh statistics (a queue just filled, or
  // being drained) probed each issue's runs with a bitmap of two indexes, 20x slower.
  const rows = await executePrepared(deps.db, sql`
    select i.* from issues i
    join agents a on a.id = i.assignee_agent_id and a.company_id = i.company_id
    cross join lateral (
      select bool_or(r.status in ('queued', 'running', 'scheduled_retry')) as on_the_way,
        (array_agg(r.status order by r.created_at desc, r.id desc))[1] as latest
      from heartbeat_runs r where r.issue_id = i.id
    ) runs
    where i.status in ('todo', 'in_progress') and i.assignee_user_id is null
      and a.status not in (${sql.join(NON_INVOKABLE_AGENT_STATUSES.map((status) => sql`${status}`), sql`, `)})
      and runs.on_the_way is not true and runs.latest is distinct from 'succeeded'
      and not exists (select 1 from agent_wakeup_requests w where w.status = 'deferred_issue_execution' and w.payload->>'issueId' = i.id::text)
    order by i.id`);
  return rows.map(issueRowFromDriver);
}

async function reconcileIssue(deps: EngineDeps, wake: Wake, issue: IssueRow): Promise<Outcome> {
  const agent = await deps.db.query.agents.findFirst({ where: { id: issue.assigneeAgentId!, companyId: issue.companyId } });
  if (!agent || !isInvokable(agent.status)) return 'skipped';
  const onTheWay = await deps.db.query.heartbeatRuns.findFirst({ where: { issueId: issue.id, status: { in: [...EXEC_PATH_STATUSES] } }, columns: { id: true } });
  if (onTheWay) return 'skipped';
  if (await hasWakeupForIssue(deps, issue.id, 'deferred_issue_execution')) return 'skipped';
  const [latest] = await deps.db
    .select()
    .from(heartbeatRuns)
    .where(eq(heartbeatRuns.issueId, issue.id))
    .orderBy(desc(heartbeatRuns.createdAt), desc(heartbeatRuns.id))
    .limit(1);
  const recovery = recoveryFor(issue.status);

  if (issue.status === 'todo' && !latest) {
    if (await hasWakeupForIssue(deps, issue.id, 'queued')) return 'skipped';
    if (!(await deps.canInvoke.check({ companyId: issue.companyId, agentId: agent.id, issueId: issue.id })).allowed) return 'skipped';
    await wake({
      companyId: issue.companyId,
      agentId: agent.id,
      source: 'assignment',
      triggerDetail: 'system',
      reason: 'issue_assigned',
      payload: { issueId: issue.id },
      actor: { type: 'system', id: 'heartbeat' },
      context: { issueId: issue.id, taskId: issue.id, source: 'issue.assigned_todo_liveness_dispatch' },
    });
    return 'assignmentDispatched';
  }
  if (issue.status === 'in_progress' && !latest && !issue.checkoutRunId && !issue.executionRunId) return 'skipped';
  if (latest?.status === 'succeeded') return 'skipped';
  if (latest && latest.contextSnapshot.retryReason === recovery.retryReason) {
    await transact(deps, (tx, events) => escalateIssue(tx, events, { issue, kind: recovery.kind, during: 'reconciliation', latest, now: deps.clock.now() }));
    return 'escalated';
  }
  const retryOfRunId = latest?.id ?? issue.checkoutRunId ?? null;
  const result = await wake({
    companyId: issue.companyId,
    agentId: agent.id,
    source: 'automation',
    triggerDetail: 'system',
    reason: recovery.reason,
    payload: { issueId: issue.id, retryOfRunId },
    actor: { type: 'system', id: 'heartbeat' },
    context: { issueId: issue.id, taskId: issue.id, wakeReason: recovery.reason, retryReason: recovery.retryReason, source: recovery.source, retryOfRunId },
    // The run retries the latest run, recorded as it is created: it may be claimed at once.
    retryOfRunId: latest?.id ?? null,
  });
  // Only a checkout names the run it retries: that run may be gone (the checkout has no foreign key).
  if (result.run && !latest && retryOfRunId) await linkRetry(deps, result.run, retryOfRunId);
  return recovery.kind === 'dispatch' ? 'dispatchRequeued' : 'continuationRequeued';
}

/** Whether a wakeup in `status` waits for the issue (a wakeup names its issue in its payload). */
async function hasWakeupForIssue(deps: EngineDeps, issueId: string, status: WakeupStatus): Promise<boolean> {
  const [waiting] = await deps.db
    .select({ id: wakeupRequests.id })
    .from(wakeupRequests)
    .where(and(eq(wakeupRequests.status, status), sql`${wakeupRequests.payload}->>'issueId' = ${issueId}`))
    .limit(1);
  return waiting !== undefined;
}

async function linkRetry(deps: EngineDeps, run: RunRow, retryOfRunId: string): Promise<void> {
  const exists = await deps.db.query.heartbeatRuns.findFirst({ where: { id: retryOfRunId }, columns: { id: true } });
  if (!exists) return;
  await linkRetryOf(deps.db, run.id, retryOfRunId);
}
