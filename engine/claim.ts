// startNextQueuedRunForAgent + claimQueuedRun (spec §6.2, §6.3). One transaction per agent under
// its advisory lock: count running runs, pick queued ones in priority order, gate-check and claim
// them until the agent's limit is reached. No instance can claim for the agent meanwhile, so the
// limit holds exactly across instances.
import { randomBytes } from 'node:crypto';
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { agents, heartbeatRuns, issues } from '../db/schema.ts';
import { agentAdvisoryLocks } from './agent-lock.ts';
import { hashApiKey, RUN_TOKEN_PREFIX } from './api-keys.ts';
import { allowAll, type EngineDeps, transact } from './deps.ts';
import { issueReadiness, type IssueReadiness } from './issue-readiness.ts';
import type { LiveEvent } from './live-events.ts';
import { isInvokable, readHeartbeatPolicy } from './policy.ts';
import { gateStopMetadata } from './run-outcome.ts';
import { appendRunEvent } from './run-events.ts';
import { clearIssueLockIfHeldBy, type IssueRow, type RunRow, runStatusEvent, setWakeStatus, stampIssueLock } from './runs.ts';
import { isInteractionWake, latestWakeCommentId } from './wake-context.ts';


export interface ClaimedRun {
  run: RunRow;
  /** Plaintext bearer token for the agent; only its digest is stored. */
  runToken: string;
  /** The agent row as the claim read it, under the agent's lock. */
  agent?: Agent;
}

type Agent = typeof agents.$inferSelect;

/** Candidates fetched per round; gate-cancelled ones free their slot for the next. */
const CANDIDATE_BATCH = 20;

export async function claimNextRunsForAgent(deps: EngineDeps, agentId: string): Promise<ClaimedRun[]> {
  return (await claimNextRunsForAgents(deps, [agentId]))[0];
}

/**
 * startNextQueuedRunForAgent for several agents in one transaction (the engine batches the agents
 * whose queues changed at about the same time). Each agent is claimed exactly as on its own: its
 * lock, its running count, its candidates in order, its gates. Returns the claims per agent id given.
 */
export async function claimNextRunsForAgents(deps: EngineDeps, agentIds: readonly string[]): Promise<ClaimedRun[][]> {
  const unique = [...new Set(agentIds)];
  const byAgent = await transact(deps, async (tx, events) => {
    // Pipelined: the locks come first, so the reads after them see everything committed before.
    const [, agentRows, runningRows] = await Promise.all([
      agentAdvisoryLocks(tx, unique),
      tx.select().from(agents).where(inArray(agents.id, unique)),
      tx
        .select({ agentId: heartbeatRuns.agentId, running: count() })
        .from(heartbeatRuns)
        .where(and(inArray(heartbeatRuns.agentId, unique), eq(heartbeatRuns.status, 'running')))
        .groupBy(heartbeatRuns.agentId),
    ]);
    const agentById = new Map(agentRows.map((row) => [row.id, row]));
    const runningByAgent = new Map(runningRows.map((row) => [row.agentId, Number(row.running)]));
    const plans: { agent: Agent; slots: number }[] = [];
    for (const id of unique) {
      const agent = agentById.get(id);
      if (!agent || !isInvokable(agent.status)) continue;
      const { maxConcurrentRuns } = readHeartbeatPolicy(agent.runtimeConfig, deps.settings);
      const slots = maxConcurrentRuns - (runningByAgent.get(id) ?? 0);
      if (slots > 0) plans.push({ agent, slots });
    }
    const firsts = await Promise.all(plans.map((plan) => queuedCandidates(tx, plan.agent.id, Math.max(plan.slots, CANDIDATE_BATCH))));
    const claimedByAgent = new Map<string, ClaimedRun[]>();
    for (const [i, plan] of plans.entries()) {
      claimedByAgent.set(plan.agent.id, await claimForAgent(deps, tx, events, plan.agent, plan.slots, firsts[i]));
    }
    return claimedByAgent;
  });
  return agentIds.map((id) => byAgent.get(id) ?? []);
}

type Candidate = Awaited<ReturnType<typeof queuedCandidates>>[number];

/** Spec §6.2 for one agent under its lock: claims candidates in order until its slots are used. */
async function claimForAgent(
  deps: EngineDeps,
  tx: Transaction,
  events: LiveEvent[],
  agent: Agent,
  slots: number,
  first: Candidate[],
): Promise<ClaimedRun[]> {
  const claimed: ClaimedRun[] = [];
  const limit = Math.max(slots, CANDIDATE_BATCH);
  let candidates: Candidate[] | null = first;
  while (slots > 0) {
    candidates ??= await queuedCandidates(tx, agent.id, Math.max(slots, CANDIDATE_BATCH));
    if (candidates.length === 0) break;
    const plain = await claimPlainRuns(deps, tx, events, agent, candidates.slice(0, slots));
    if (plain) {
      claimed.push(...plain);
      slots -= plain.length;
      // Fewer candidates than asked for: nothing else is queued for the agent right now.
      if (candidates.length < limit) break;
    } else {
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
    candidates = null;
  }
  return claimed;
}

/**
 * The common case, without a round trip per run: runs without an issue have no gate to pass, and
 * the default canInvoke port allows everything, so each is simply claimed (§6.3 step 3), all in one
 * pipelined exchange. Null when a candidate needs the full per-run treatment (or a guarded claim
 * found a run no longer queued): the caller then claims them one by one.
 */
async function claimPlainRuns(
  deps: EngineDeps,
  tx: Transaction,
  events: LiveEvent[],
  agent: Agent,
  candidates: Candidate[],
): Promise<ClaimedRun[] | null> {
  if (deps.canInvoke !== allowAll) return null;
  if (candidates.some(({ run }) => run.issueId !== null || typeof run.contextSnapshot.issueId === 'string')) return null;
  const now = deps.clock.now();
  const tokens = candidates.map(() => RUN_TOKEN_PREFIX + randomBytes(32).toString('base64url'));
  const updates = candidates.map(({ run }, i) => claimUpdate(deps, tx, run.id, tokens[i], now));
  // Sent right behind the run updates; the rows are locked by this transaction, so every run
  // update matches and its wakeup is claimed with it.
  const wakes = candidates.map(({ run }) => setWakeStatus(tx, run.wakeupRequestId, 'claimed', now, { claimedAt: now }));
  const [rows] = await Promise.all([Promise.all(updates), Promise.all(wakes)]);
  if (rows.some((row) => row === null)) throw new Error('A queued run locked for claiming was no longer queued');
  return rows.map((row, i) => {
    events.push(runStatusEvent(row!));
    return { run: row!, runToken: tokens[i], agent };
  });
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

interface Gate {
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
    .where(and(eq(heartbeatRuns.id, run.id), eq(heartbeatRuns.status, 'queued')))
    .returning();
  if (!claimed) return null;
  events.push(runStatusEvent(claimed));
  await setWakeStatus(tx, claimed.wakeupRequestId, 'claimed', now, { claimedAt: now });
  if (issue && issue.assigneeAgentId === agent.id && (issue.executionRunId === null || issue.executionRunId === run.id)) {
    await stampIssueLock(tx, events, issue, claimed, agent.name, now);
  }
  return { run: claimed, runToken };
}

/** A claim-gate cancel: recorded and published, but no release, promotion or agent status change (Decisions 10). */
async function gateCancel(tx: Transaction, events: LiveEvent[], run: RunRow, gate: Gate, now: Date): Promise<void> {
  const [cancelled] = await tx
    .update(heartbeatRuns)
    .set({
      status: 'cancelled',
      error: gate.message,
      errorCode: gate.code,
      finishedAt: now,
      // Nothing follows a gate cancel: it is settled at once.
      settledAt: now,
      updatedAt: now,
      resultJson: { ...(run.resultJson ?? {}), ...gateStopMetadata(gate.code, gate.timeoutSource) },
    })
    .where(eq(heartbeatRuns.id, run.id))
    .returning();
  await setWakeStatus(tx, run.wakeupRequestId, 'skipped', now);
  if (run.issueId) await clearIssueLockIfHeldBy(tx, events, run.issueId, run.id, now);
  await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'warn', message: gate.message, payload: { errorCode: gate.code } }, now);
  events.push(runStatusEvent(cancelled));
}
