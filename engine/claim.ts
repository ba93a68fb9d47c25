// startNextQueuedRunForAgent + claimQueuedRun (spec §6.2, §6.3). One transaction per agent under
// its advisory lock: count running runs, pick queued ones in priority order, gate-check and claim
// them until the agent's limit is reached. No instance can claim for the agent meanwhile, so the
// limit holds exactly across instances.
import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { agents, heartbeatRuns, issues } from '../db/schema.ts';
import { agentAdvisoryLocks } from './agent-lock.ts';
import { hashApiKey, RUN_TOKEN_PREFIX } from './api-keys.ts';
import { claimGate, type Gate, gateCancel } from './claim-gate.ts';
import { allowAll, type EngineDeps, transact } from './deps.ts';
import { issueReadiness, type IssueReadiness } from './issue-readiness.ts';
import type { LiveEvent } from './live-events.ts';
import { claimPlainRuns, isPlain } from './plain-claims.ts';
import { isInvokable, readHeartbeatPolicy } from './policy.ts';
import { agentRowFromDriver, executePrepared, runRowFromDriver, uuidArray } from './run-rows.ts';
import { type IssueRow, type RunRow, runStatusEvent, setWakeStatus, stampIssueLock } from './runs.ts';

export interface ClaimedRun {
  run: RunRow;
  /** Plaintext bearer token for the agent; only its digest is stored. */
  runToken: string;
  /** The agent row as the claim read it, under the agent's lock. */
  agent?: Agent;
  /** Set when the claim also started the run (ClaimOptions.start): its context and log file. */
  started?: { context: Record<string, unknown>; logRef: string };
}

type Agent = typeof agents.$inferSelect;

/** Candidates fetched per round; gate-cancelled ones free their slot for the next. */
const CANDIDATE_BATCH = 20;

/**
 * The agents among `agentIds` that have queued runs right now (read without their locks). The
 * engine claims only for those: an agent whose run is queued after this read gets its claim from
 * whoever queued it (they call startNext after their commit, which runs another claim round).
 */
export async function agentsWithQueuedRuns(deps: EngineDeps, agentIds: readonly string[]): Promise<Set<string>> {
  const rows = await executePrepared<{ agent_id: string }>(
    deps.db,
    // One index probe per agent that stops at its first queued run: a deep queue costs nothing here.
    sql`select a.id as agent_id from unnest(${uuidArray(agentIds)}::uuid[]) as a(id)
        where exists (select 1 from heartbeat_runs r where r.agent_id = a.id and r.status = 'queued')`,
  );
  return new Set(rows.map((row) => row.agent_id));
}

export async function claimNextRunsForAgent(deps: EngineDeps, agentId: string): Promise<ClaimedRun[]> {
  return (await claimNextRunsForAgents(deps, [agentId]))[0];
}

/**
 * startNextQueuedRunForAgent for several agents in one transaction (the engine batches the agents
 * whose queues changed at about the same time). Each agent is claimed exactly as on its own: its
 * lock, its running count, its candidates in order, its gates. Returns the claims per agent id given.
 */
export async function claimNextRunsForAgents(
  deps: EngineDeps,
  agentIds: readonly string[],
  options: ClaimOptions = {},
): Promise<ClaimedRun[][]> {
  const unique = [...new Set(agentIds)];
  const byAgent = await transact(deps, async (tx, events) => {
    // The locks first, and the reads sent right behind them in the same round trip: the server runs
    // them once the locks are granted, so they see everything committed before.
    const ids = uuidArray(unique);
    const [, agentRows, runningRows] = await Promise.all([
      agentAdvisoryLocks(tx, unique),
      executePrepared(tx, sql`select * from agents where id = any(${ids}::uuid[])`),
      executePrepared<{ agent_id: string; running: number }>(
        tx,
        sql`select agent_id, count(*)::int as running from heartbeat_runs where agent_id = any(${ids}::uuid[]) and status = 'running' group by agent_id`,
      ),
    ]);
    const agentById = new Map(agentRows.map(agentRowFromDriver).map((row) => [row.id, row]));
    const runningByAgent = new Map(runningRows.map((row) => [row.agent_id, Number(row.running)]));
    const plans: Plan[] = [];
    for (const id of unique) {
      const agent = agentById.get(id);
      if (!agent || !isInvokable(agent.status)) continue;
      const { maxConcurrentRuns } = readHeartbeatPolicy(agent.runtimeConfig, deps.settings);
      const slots = maxConcurrentRuns - (runningByAgent.get(id) ?? 0);
      if (slots > 0) plans.push({ agent, slots });
    }
    const claimedByAgent = new Map<string, ClaimedRun[]>();
    if (plans.length === 0) return claimedByAgent;
    const candidates = await lockCandidates(tx, plans);
    // The common case goes in two statements for all agents; the rest one run at a time.
    const plain = deps.canInvoke === allowAll ? plans.filter((plan) => isPlain(candidates.get(plan.agent.id)!)) : [];
    const claimedPlain = await claimPlainRuns(
      deps,
      tx,
      events,
      plain.map((plan) => ({ agent: plan.agent, runs: candidates.get(plan.agent.id)! })),
      options.start === true,
    );
    for (const [i, plan] of plain.entries()) claimedByAgent.set(plan.agent.id, claimedPlain[i]);
    for (const plan of plans) {
      if (claimedByAgent.has(plan.agent.id)) continue;
      claimedByAgent.set(plan.agent.id, await claimForAgent(deps, tx, events, plan.agent, plan.slots));
    }
    return claimedByAgent;
  });
  return agentIds.map((id) => byAgent.get(id) ?? []);
}

export interface ClaimOptions {
  /**
   * Also start the runs it can (spec §6.4 step 3: log file, agent running, `run started`) in the
   * claim's transaction, as execute.ts would right after: plain runs (no issue, so no checkout)
   * whose adapter config parses. The engine asks for this; a bare claim (tests) does not.
   */
  start?: boolean;
}

interface Plan {
  agent: Agent;
  slots: number;
}

/**
 * The first `slots` candidates of every agent in claim order (queuedCandidates' order), locked, in
 * one statement. Only the run rows: an agent with an issue run among them goes the per-run way,
 * which fetches its candidates again, as many as queuedCandidates does (a locked row does not
 * stop the transaction that locked it from reading it again). For the others these are exactly
 * the runs the per-run way would claim, without locking the candidates it would not.
 * An agent with no queued issue run (the common case) has all its runs in one claim group, so its
 * candidates are simply its oldest queued runs, read off runs_agent_queued_plain_idx instead of
 * ranking its whole queue.
 */
async function lockCandidates(tx: Transaction, plans: Plan[]): Promise<Map<string, RunRow[]>> {
  const rows = await executePrepared<Record<string, unknown> & { claim_group: number; claim_priority: number }>(tx, sql`
    select c.* from unnest(${uuidArray(plans.map((p) => p.agent.id))}::uuid[], ${`{${plans.map((p) => p.slots).join(',')}}`}::int[]) as x(agent_id, lim)
    cross join lateral (
      select exists (select 1 from heartbeat_runs q where q.agent_id = x.agent_id and q.status = 'queued' and q.issue_id is not null) as ranked
    ) m
    cross join lateral (
      select * from (
        select r.*,
          case when r.issue_id is null then 2
               when i.id is null then 1
               when exists (
                 select 1 from issue_relations rel join issues b on b.id = rel.issue_id
                 where rel.related_issue_id = i.id and rel.type = 'blocks' and b.status not in ('done', 'cancelled')) then 3
               when i.status = 'in_progress' then 0 else 1 end as claim_group,
          case i.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end as claim_priority
        from heartbeat_runs r left join issues i on i.id = r.issue_id
        where m.ranked and r.agent_id = x.agent_id and r.status = 'queued'
        order by claim_group, claim_priority, r.created_at asc, r.id asc
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
    ) c`);
  const byAgent = new Map<string, Array<{ run: RunRow; group: number; priority: number }>>(plans.map((p) => [p.agent.id, []]));
  for (const raw of rows) {
    const run = runRowFromDriver(raw);
    byAgent.get(run.agentId)!.push({ run, group: Number(raw.claim_group), priority: Number(raw.claim_priority) });
  }
  const order = (a: { run: RunRow; group: number; priority: number }, b: typeof a) =>
    a.group - b.group || a.priority - b.priority || a.run.createdAt.getTime() - b.run.createdAt.getTime() || (a.run.id < b.run.id ? -1 : a.run.id > b.run.id ? 1 : 0);
  return new Map([...byAgent.entries()].map(([id, list]) => [id, list.sort(order).map((c) => c.run)]));
}

type Candidate = Awaited<ReturnType<typeof queuedCandidates>>[number];

/** Spec §6.2 for one agent under its lock, a run at a time: candidates in order until its slots are used. */
async function claimForAgent(deps: EngineDeps, tx: Transaction, events: LiveEvent[], agent: Agent, slots: number): Promise<ClaimedRun[]> {
  const claimed: ClaimedRun[] = [];
  while (slots > 0) {
    const candidates: Candidate[] = await queuedCandidates(tx, agent.id, Math.max(slots, CANDIDATE_BATCH));
    if (candidates.length === 0) break;
    const readiness = await issueReadiness(tx, candidates.flatMap((c) => (c.issue ? [c.issue.id] : [])));
    for (const { run, issue } of candidates) {
      if (slots <= 0) break;
      const result = await claimQueuedRun(deps, tx, events, agent, run, issue, issue ? readiness.get(issue.id)! : null);
      if (result) {
        claimed.push(result);
        slots -= 1;
      }
    }
  }
  return claimed;
}

/** The guarded queued -> running update of §6.3 step 3; null when the run is no longer queued. */
async function claimUpdate(deps: EngineDeps, tx: Transaction, runId: string, runToken: string, now: Date): Promise<RunRow | null> {
  const [claimed] = await tx
    .update(heartbeatRuns)
    .set({
      status: 'running',
      startedAt: sql`coalesce(${heartbeatRuns.startedAt}, ${now.toISOString()}::timestamptz)`,
      ownerInstanceId: deps.settings.instanceId,
      ownerHost: deps.settings.host,
      runTokenHash: hashApiKey(runToken),
      updatedAt: now,
    })
    .where(and(eq(heartbeatRuns.id, runId), eq(heartbeatRuns.status, 'queued')))
    .returning();
  return claimed ?? null;
}

/**
 * Queued runs of the agent in claim order (spec §6.2): by group (issue ready & in progress, issue
 * ready, no issue, issue blocked), then issue priority, then age. Locked rows are skipped.
 */
async function queuedCandidates(tx: Transaction, agentId: string, limit: number) {
  const unresolvedBlockers = sql`exists (
    select 1 from issue_relations rel join issues b on b.id = rel.issue_id
    where rel.related_issue_id = ${issues.id} and rel.type = 'blocks' and b.status not in ('done', 'cancelled'))`;
  const rows = await tx
    .select({ run: heartbeatRuns, issue: issues })
    .from(heartbeatRuns)
    .leftJoin(issues, eq(issues.id, heartbeatRuns.issueId))
    .where(and(eq(heartbeatRuns.agentId, agentId), eq(heartbeatRuns.status, 'queued')))
    .orderBy(
      sql`case when ${heartbeatRuns.issueId} is null then 2
               when ${issues.id} is null then 1
               when ${unresolvedBlockers} then 3
               when ${issues.status} = 'in_progress' then 0 else 1 end`,
      sql`case ${issues.priority} when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end`,
      asc(heartbeatRuns.createdAt),
      asc(heartbeatRuns.id),
    )
    .limit(limit)
    .for('update', { of: heartbeatRuns, skipLocked: true });
  return rows;
}

/** Spec §6.3: gate-check one queued run, then move it to running. Null when it was not claimed. */
async function claimQueuedRun(
  deps: EngineDeps,
  tx: Transaction,
  events: LiveEvent[],
  agent: Agent,
  run: RunRow,
  issue: IssueRow | null,
  readiness: IssueReadiness | null,
): Promise<ClaimedRun | null> {
  const now = deps.clock.now();
  const budget = await deps.canInvoke.check({ companyId: agent.companyId, agentId: agent.id });
  const gate: Gate | null = budget.allowed
    ? claimGate(run, issue, readiness)
    : { code: 'cancelled', message: budget.reason, timeoutSource: 'stale_queued_run_gate' };
  if (gate) {
    await gateCancel(tx, events, run, gate, now);
    return null;
  }

  const runToken = RUN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const claimed = await claimUpdate(deps, tx, run.id, runToken, now);
  if (!claimed) return null;
  events.push(runStatusEvent(claimed));
  await setWakeStatus(tx, claimed.wakeupRequestId, 'claimed', now, { claimedAt: now });
  if (issue && issue.assigneeAgentId === agent.id && (issue.executionRunId === null || issue.executionRunId === run.id)) {
    await stampIssueLock(tx, events, issue, claimed, agent.name, now);
  }
  return { run: claimed, runToken, agent };
}

