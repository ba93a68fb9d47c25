// The claim order (docs/engine.md §6.2), written once: which queued runs of an agent are claimed
// first, read and locked for any number of agents in one statement.
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { RunRow } from '../model/runs.ts';
import { executePrepared, runRowFromDriver, uuidArray } from '../store/statements.ts';

/**
 * A queued run's rank is its claim group x 8 + its priority (0 critical .. 4 none): group 0 issue
 * ready and in progress, 1 issue ready (or gone), 2 no issue, 3 issue blocked.
 */
const NO_ISSUE_RANK = sql.raw(String(2 * 8 + 4));
const MISSING_ISSUE_RANK = sql.raw(String(1 * 8 + 4));

/**
 * The first `slots` queued runs of every agent in claim order, locked, in one statement. Claim
 * order (§6.2): by group (issue ready and in progress, issue ready, no issue, issue blocked), then
 * issue priority, then age. Rows another transaction holds are skipped. An agent with no queued
 * issue run (the common case) has all its runs in one group, so its candidates are simply its
 * oldest queued runs, read off runs_agent_queued_plain_idx instead of ranking its whole queue.
 *
 * `skipped`: the agents for which it left queued runs behind because another transaction held them
 * (it saw more queued runs, up to the limit, than it could lock). Whoever held them may not claim
 * after its commit (a write that only annotates a queued run does not), so the caller claims for
 * those agents again shortly.
 */
export async function lockCandidates(
  tx: Transaction,
  plans: Array<{ agent: { id: string }; slots: number }>,
): Promise<{ byAgent: Map<string, RunRow[]>; skipped: Set<string> }> {
  const rows = await executePrepared<Record<string, unknown> & { plan_agent_id: string; visible: number; claim_group: number; claim_priority: number }>(tx, sql`
    select x.agent_id as plan_agent_id, v.visible, c.* from unnest(${uuidArray(plans.map((p) => p.agent.id))}::uuid[], ${`{${plans.map((p) => p.slots).join(',')}}`}::int[]) as x(agent_id, lim)
    cross join lateral (
      select exists (select 1 from heartbeat_runs q where q.agent_id = x.agent_id and q.status = 'queued' and q.issue_id is not null) as ranked
    ) m
    -- The queued runs this statement sees, up to the limit, locked or not: more than it locks means it skipped some.
    cross join lateral (
      select count(*)::int as visible from (select 1 from heartbeat_runs w where w.agent_id = x.agent_id and w.status = 'queued' limit x.lim) s
    ) v
    left join lateral (
      select * from (
        -- The ranking reads and sorts only each run's id and rank, one issue lookup per run; the
        -- rows are fetched and locked in that order, as many as the limit takes.
        select r.*, k.claim_rank / 8 as claim_group, k.claim_rank % 8 as claim_priority
        from (
          select q.id, q.created_at, case when q.issue_id is null then ${NO_ISSUE_RANK} else coalesce((
              select case when exists (
                     select 1 from issue_relations rel join issues b on b.id = rel.issue_id
                     where rel.related_issue_id = i.id and rel.type = 'blocks' and b.status not in ('done', 'cancelled')) then 24
                   when i.status = 'in_progress' then 0 else 8 end
                + case i.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end
              from issues i where i.id = q.issue_id), ${MISSING_ISSUE_RANK}) end as claim_rank
          from heartbeat_runs q
          where m.ranked and q.agent_id = x.agent_id and q.status = 'queued'
          order by claim_rank, q.created_at asc, q.id asc
          offset 0
        ) k
        cross join lateral (select * from heartbeat_runs r where r.id = k.id and r.status = 'queued' offset 0) r
        limit x.lim
        for update of r skip locked
      ) ranked
      union all
      select * from (
        select r.*, 2 as claim_group, 4 as claim_priority
        from heartbeat_runs r
        where not m.ranked and r.agent_id = x.agent_id and r.status = 'queued' and r.issue_id is null
        order by r.created_at asc, r.id asc
        limit x.lim
        for update of r skip locked
      ) oldest
    ) c on true`);
  const byAgent = new Map<string, Array<{ run: RunRow; group: number; priority: number }>>(plans.map((p) => [p.agent.id, []]));
  const visible = new Map<string, number>();
  for (const raw of rows) {
    visible.set(raw.plan_agent_id, Number(raw.visible));
    // An agent none of whose runs was locked has one row, without a run.
    if (raw.id === null) continue;
    const run = runRowFromDriver(raw);
    byAgent.get(run.agentId)!.push({ run, group: Number(raw.claim_group), priority: Number(raw.claim_priority) });
  }
  const skipped = new Set([...byAgent].filter(([id, list]) => list.length < (visible.get(id) ?? 0)).map(([id]) => id));
  const order = (a: { run: RunRow; group: number; priority: number }, b: typeof a) =>
    a.group - b.group || a.priority - b.priority || a.run.createdAt.getTime() - b.run.createdAt.getTime() || (a.run.id < b.run.id ? -1 : a.run.id > b.run.id ? 1 : 0);
  return { byAgent: new Map([...byAgent.entries()].map(([id, list]) => [id, list.sort(order).map((c) => c.run)])), skipped };
}
