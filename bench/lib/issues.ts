// Runs that each work on their own issue, for the issue drain (scenarios/issue-throughput.ts) and its
// bookkeeping floor (scenarios/issue-bookkeeping-floor.ts): the script agents' one step (a comment
// on the run's issue, the liveness evidence that classifies the run `advanced`), the actor that
// creates the issues, and the bulk fill of the queue with the rows createIssue writes for an issue
// created with an assignee (the issue, its company's counter, and the `issue_assigned` wakeup with
// its queued run).
import type postgres from 'postgres';
import { enrichWakeContext } from '../../engine/index.ts';

/** What every run says on its issue: concrete evidence, no plan, no blocker (liveness.ts: `advanced`). */
export const ISSUE_COMMENT = 'Fixed the failing check and pushed the change.';
/** adapterConfig of the issue drain's script agents: one step, the comment. */
export const ISSUE_SCRIPT = { steps: [{ comment: ISSUE_COMMENT }] };
/** The operator who creates the issues (the API passes the caller's key id). */
export const ISSUE_ACTOR = { type: 'user' as const, id: 'bench' };
/** Issue `i` (from 0) goes to agent `i % agents`, in the single creations and the bulk fill alike. */
export const issueTitle = (i: number) => `Bench issue ${i}`;

/** Stands for the issue id in the context template, replaced per row in SQL. */
const ISSUE_PLACEHOLDER = '00000000-0000-4000-8000-00000000f111';

/**
 * Fills the queue in bulk with the rows that `count` calls of createIssue with an assignee write
 * (issues `from` .. `from + count - 1`, spread over the agents in turn): the company's issue
 * counter moved on, the issues (todo, medium, unlocked), and for each a queued `issue_assigned`
 * wakeup linked to a queued run on the issue with the context enqueueWakeup derives. Nothing is
 * claimed: the engine (or the floor) finds them queued.
 */
export async function fillQueuedIssueRuns(
  sql: postgres.Sql,
  input: { companyId: string; agentIds: string[]; from: number; count: number },
): Promise<void> {
  if (input.count <= 0) return;
  const context = enrichWakeContext(null, { source: 'assignment', triggerDetail: 'system', reason: 'issue_assigned', payload: { issueId: ISSUE_PLACEHOLDER } });
  await sql`
    with counter as (
      update companies set issue_counter = issue_counter + ${input.count}, updated_at = now()
      where id = ${input.companyId}
      returning issue_counter - ${input.count} as base, issue_prefix
    ), i as (
      insert into issues (id, company_id, identifier, title, status, priority, assignee_agent_id, created_at, updated_at)
      select gen_random_uuid(), ${input.companyId}, c.issue_prefix || '-' || (c.base + g + 1), 'Bench issue ' || (${input.from} + g), 'todo', 'medium',
        (${input.agentIds}::uuid[])[1 + ((${input.from} + g) % ${input.agentIds.length})], now(), now()
      from counter c, generate_series(0, ${input.count - 1}) g
      returning id, assignee_agent_id, created_at
    ), w as (
      insert into agent_wakeup_requests (id, company_id, agent_id, source, trigger_detail, reason, payload, requested_by_actor_type,
        requested_by_actor_id, status, run_id, requested_at, created_at, updated_at)
      select gen_random_uuid(), ${input.companyId}, i.assignee_agent_id, 'assignment', 'system', 'issue_assigned', jsonb_build_object('issueId', i.id),
        ${ISSUE_ACTOR.type}, ${ISSUE_ACTOR.id}, 'queued', gen_random_uuid(), i.created_at, i.created_at, i.created_at
      from i
      returning *
    )
    insert into heartbeat_runs (id, company_id, agent_id, issue_id, invocation_source, trigger_detail, status, wakeup_request_id, context_snapshot, created_at, updated_at)
    select run_id, company_id, agent_id, (payload->>'issueId')::uuid, 'assignment', 'system', 'queued', id,
      replace(${JSON.stringify(context)}, ${ISSUE_PLACEHOLDER}, payload->>'issueId')::jsonb, created_at, created_at
    from w`;
}
