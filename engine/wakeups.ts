// enqueueWakeup (spec §6.1): a wakeup request becomes a queued run, is folded into a run already
// on its way (coalesced), waits behind another agent's run on the same issue (deferred), is skipped
// by a policy gate, or is recognised as a duplicate of an earlier request with the same key.
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import type { ActorType, TriggerDetail, WakeupSource } from '../db/enums.ts';
import { agents, heartbeatRuns, issues, wakeupRequests } from '../db/schema.ts';
import type postgres from 'postgres';
import { AGENT_LOCK_NAMESPACE } from './agent-lock.ts';
import { claimNewRun, type ClaimedRun } from './claim.ts';
import { agentRowFromDriver, connectionOf, executePrepared, runRowFromDriver, wakeupRowFromDriver } from './run-rows.ts';
import { type EngineDeps, transact } from './deps.ts';
import { conflict, notFound } from './errors.ts';
import { readinessOf } from './issue-readiness.ts';
import type { LiveEvent } from './live-events.ts';
import { isInvokable, readHeartbeatPolicy } from './policy.ts';
import { type IssueRow, type RunRow, type WakeupRow, EXEC_PATH_STATUSES, isExecPath, issueLockEvent, runQueuedEvent, stampIssueLock } from './runs.ts';
import { cancelStaleScheduledRetry, staleRetryReason } from './stale-retry.ts';
import {
  enrichWakeContext,
  isInteractionWake,
  latestWakeCommentId,
  mergeWakeContext,
  positiveIntOrZero,
  type WakeContext,
  wakeScopeKey,
} from './wake-context.ts';

export interface EnqueueWakeupInput {
  companyId: string;
  agentId: string;
  source?: WakeupSource;
  triggerDetail?: TriggerDetail | null;
  reason?: string | null;
  payload?: Record<string, unknown> | null;
  idempotencyKey?: string | null;
  actor?: { type: ActorType; id: string | null } | null;
  context?: WakeContext | null;
  /** The run a new queued run retries (retryRun): recorded on the run as it is created. */
  retryOfRunId?: string | null;
}

export type EnqueueOutcome = 'queued' | 'coalesced' | 'deferred' | 'skipped' | 'duplicate';

export interface EnqueueResult {
  outcome: EnqueueOutcome;
  wakeupRequest: WakeupRow;
  /** The run the wakeup became or joined; null when deferred or skipped. */
  run: RunRow | null;
  /** Agent whose queue changed: the engine calls startNext for it after the commit. */
  startAgentId: string | null;
}

type Agent = typeof agents.$inferSelect;

interface Prepared {
  input: EnqueueWakeupInput;
  agent: Agent;
  source: WakeupSource;
  payload: Record<string, unknown> | null;
  ctx: WakeContext;
  now: Date;
}

const str = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : null);

export interface EnqueueOptions {
  /**
   * The engine is running and will execute what this returns in `claimed`: a new run of an agent
   * without an issue is claimed and started in the enqueue's own transaction when nothing else is
   * queued for the agent and a slot is free (claim.ts claimNewRun), saving a transaction.
   */
  claim?: boolean;
}

export async function enqueueWakeup(
  deps: EngineDeps,
  input: EnqueueWakeupInput,
  options: EnqueueOptions = {},
): Promise<EnqueueResult & { claimed?: ClaimedRun }> {
  const now = deps.clock.now();
  const source = input.source ?? 'on_demand';
  const payload = input.payload ?? null;
  const ctx = enrichWakeContext(input.context ?? {}, {
    source,
    triggerDetail: input.triggerDetail ?? null,
    reason: input.reason ?? null,
    payload,
  });
  const [agentRaw] = await executePrepared<Record<string, unknown>>(deps.db, sql`select * from agents where id = ${input.agentId} and company_id = ${input.companyId}`);
  if (!agentRaw) throw notFound('Agent');
  const agent = agentRowFromDriver(agentRaw);

  if (input.idempotencyKey) {
    const earlier = await findDuplicate(deps, input);
    if (earlier) return earlier;
  }
  const prepared: Prepared = { input, agent, source, payload, ctx, now };

  const gate = await deps.canInvoke.check({ companyId: agent.companyId, agentId: agent.id });
  if (!gate.allowed) {
    await insertSkipped(deps, prepared, 'budget.blocked');
    throw conflict(gate.reason, { reason: 'budget.blocked' });
  }
  if (!isInvokable(agent.status)) throw conflict(`Agent is ${agent.status} and cannot be woken`);
  const policy = readHeartbeatPolicy(agent.runtimeConfig, deps.settings);
  if (source === 'timer' && !policy.enabled) return insertSkipped(deps, prepared, 'heartbeat.disabled');
  if (source !== 'timer' && !policy.wakeOnDemand) {
    return insertSkipped(deps, prepared, 'heartbeat.wakeOnDemand.disabled');
  }

  const issueId = str(ctx.issueId) ?? str(payload?.issueId);
  try {
    return issueId ? await enqueueOnIssue(deps, prepared, issueId) : await enqueueWithoutIssue(deps, prepared, options);
  } catch (error) {
    // Two requests with one idempotency key raced: the loser answers with the winner.
    if (input.idempotencyKey && isUniqueViolation(error, 'wakeups_idempotency_uq')) {
      const earlier = await findDuplicate(deps, input);
      if (earlier) return earlier;
    }
    throw error;
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  return (cause as { code?: string; constraint_name?: string })?.code === '23505' &&
    (cause as { constraint_name?: string }).constraint_name === constraint;
}

async function findDuplicate(deps: EngineDeps, input: EnqueueWakeupInput): Promise<EnqueueResult | null> {
  const wake = await deps.db.query.wakeupRequests.findFirst({
    where: { companyId: input.companyId, agentId: input.agentId, idempotencyKey: input.idempotencyKey! },
  });
  if (!wake) return null;
  const run = wake.runId ? ((await deps.db.query.heartbeatRuns.findFirst({ where: { id: wake.runId } })) ?? null) : null;
  return { outcome: 'duplicate', wakeupRequest: wake, run, startAgentId: null };
}

function wakeValues(p: Prepared) {
  return {
    companyId: p.agent.companyId,
    agentId: p.agent.id,
    source: p.source,
    triggerDetail: p.input.triggerDetail ?? null,
    reason: p.input.reason ?? null,
    payload: p.payload,
    requestedByActorType: p.input.actor?.type ?? null,
    requestedByActorId: p.input.actor?.id ?? null,
    idempotencyKey: p.input.idempotencyKey ?? null,
    requestedAt: p.now,
    createdAt: p.now,
    updatedAt: p.now,
  };
}

async function insertSkipped(
  deps: EngineDeps,
  p: Prepared,
  reason: string,
  extraPayload: Record<string, unknown> = {},
  tx: Transaction | EngineDeps['db'] = deps.db,
): Promise<EnqueueResult> {
  const payload = Object.keys(extraPayload).length > 0 ? { ...(p.payload ?? {}), ...extraPayload } : p.payload;
  const [wake] = await tx
    .insert(wakeupRequests)
    .values({ ...wakeValues(p), payload, status: 'skipped', reason, finishedAt: p.now })
    .returning();
  return { outcome: 'skipped', wakeupRequest: wake, run: null, startAgentId: null };
}

/** Spec §6.1 step 3f / 4: a new queued wakeup and run (and, from enqueueWithoutIssue, maybe its claim). */
async function createQueuedRun(
  tx: Transaction,
  events: LiveEvent[],
  p: Prepared,
  issueId: string | null,
  claim: ((run: RunRow, events: LiveEvent[]) => Promise<ClaimedRun> | null) | null = null,
): Promise<EnqueueResult & { claimed?: ClaimedRun }> {
  // Both ids are chosen here, so the two rows are written together, each naming the other: the
  // wakeup row as it ends up once linked to its run (linking it stamped updated_at with the wall
  // clock, like every update without one). The claim, if any, is sent right behind them.
  const wakeId = randomUUID();
  const runId = randomUUID();
  const wake = wakeValues(p);
  const connection = connectionOf(tx);
  const inserted = Promise.all([
    connection
      .unsafe(
        `insert into agent_wakeup_requests (id, company_id, agent_id, source, trigger_detail, reason, payload, requested_by_actor_type,
           requested_by_actor_id, idempotency_key, requested_at, created_at, updated_at, status, run_id)
         values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11::timestamptz, $12::timestamptz, $13::timestamptz, 'queued', $14)
         returning *`,
        [wakeId, wake.companyId, wake.agentId, wake.source, wake.triggerDetail, wake.reason, wake.payload === null ? null : JSON.stringify(wake.payload),
          wake.requestedByActorType, wake.requestedByActorId, wake.idempotencyKey, iso(wake.requestedAt), iso(wake.createdAt), iso(new Date()), runId],
        PREPARED,
      )
      .execute(),
    connection
      .unsafe(
        `insert into heartbeat_runs (id, company_id, agent_id, issue_id, invocation_source, trigger_detail, status, wakeup_request_id,
           context_snapshot, continuation_attempt, retry_of_run_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, 'queued', $7, $8::jsonb, $9, $10, $11::timestamptz, $11::timestamptz)
         returning *`,
        [runId, p.agent.companyId, p.agent.id, issueId, p.source, p.input.triggerDetail ?? null, wakeId, JSON.stringify(p.ctx),
          positiveIntOrZero(p.ctx.livenessContinuationAttempt), p.input.retryOfRunId ?? null, iso(p.now)],
        PREPARED,
      )
      .execute(),
  ]);
  const claimEvents: LiveEvent[] = [];
  const claiming = claim?.(newRunRow(runId, wakeId, p, issueId), claimEvents) ?? null;
  const [[[wakeRaw], [runRaw]], claimed] = await Promise.all([inserted, claiming]);
  const run = runRowFromDriver(runRaw);
  // The queued run is what the wakeup became, whether or not it was started at once.
  events.push(runQueuedEvent(run), ...claimEvents);
  return { outcome: 'queued', wakeupRequest: wakeupRowFromDriver(wakeRaw), run, startAgentId: claimed ? null : p.agent.id, ...(claimed ? { claimed } : {}) };
}

const iso = (date: Date) => date.toISOString();
/**
 * postgres.js runs `unsafe` statements unprepared, which costs a describe round trip before every
 * execution; these are the hot path's, so they are prepared once per connection.
 */
const PREPARED = { prepare: true } as const;

/** What createQueuedRun's run row holds before the database answers (what claimNewRun reads of it). */
function newRunRow(id: string, wakeupRequestId: string, p: Prepared, issueId: string | null): RunRow {
  return {
    id,
    companyId: p.agent.companyId,
    agentId: p.agent.id,
    issueId,
    invocationSource: p.source,
    triggerDetail: p.input.triggerDetail ?? null,
    status: 'queued',
    wakeupRequestId,
    contextSnapshot: p.ctx,
    logStore: null,
    logRef: null,
    lastEventSeq: 0,
    lastOutputSeq: 0,
    createdAt: p.now,
    updatedAt: p.now,
  } as RunRow;
}

/** Folds the wakeup into `target`: its context absorbs the new one and a `coalesced` row records it. */
async function coalesceInto(
  tx: Transaction,
  p: Prepared,
  target: RunRow,
  reason: string | null,
): Promise<{ wake: WakeupRow; run: RunRow }> {
  const [run] = await tx
    .update(heartbeatRuns)
    .set({ contextSnapshot: mergeWakeContext(target.contextSnapshot, p.ctx), updatedAt: p.now })
    .where(eq(heartbeatRuns.id, target.id))
    .returning();
  const [wake] = await tx
    .insert(wakeupRequests)
    .values({ ...wakeValues(p), status: 'coalesced', reason, coalescedCount: 1, runId: target.id, finishedAt: p.now })
    .returning();
  return { wake, run };
}

const isFollowup = (p: Prepared) => latestWakeCommentId(p.ctx) !== null || p.input.reason === 'approval_approved';

/** Spec §6.1 step 3: the issue path, serialised by a row lock on the issue. */
async function enqueueOnIssue(deps: EngineDeps, p: Prepared, issueId: string): Promise<EnqueueResult> {
  return transact(deps, async (tx, events) => {
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
      const followup = isFollowup(p) && active.status === 'running' && same;
      if (same && !followup) {
        const { wake, run } = await coalesceInto(tx, p, active, 'issue_execution_same_name');
        return { outcome: 'coalesced', wakeupRequest: wake, run, startAgentId: p.agent.id };
      }
      return { outcome: 'deferred', wakeupRequest: await deferBehind(tx, p, issue.id), run: null, startAgentId: null };
    }
    return createQueuedRun(tx, events, p, issue.id);
  });
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
async function deferBehind(tx: Transaction, p: Prepared, issueId: string): Promise<WakeupRow> {
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

/** Spec §6.1 step 4: no issue; coalesce by task scope, serialised per agent. */
async function enqueueWithoutIssue(deps: EngineDeps, p: Prepared, options: EnqueueOptions): Promise<EnqueueResult & { claimed?: ClaimedRun }> {
  return transact(deps, async (tx, events) => {
    // Three statements in one round trip, run by the server one after the other: the agent's lock;
    // the run of the same scope the wakeup folds into (the oldest queued one, else the oldest
    // scheduled retry, else the newest running one; only that row is locked), read after the lock
    // was granted; and for claimNewRun the agent's row and queue (freeSlot), locked last, so that
    // nothing holding the agent's row ever waits here for the run row the pick locks.
    const connection = connectionOf(tx);
    const locked = connection.unsafe('select pg_advisory_xact_lock($1, hashtext($2))', [AGENT_LOCK_NAMESPACE, p.agent.id], PREPARED).execute();
    const picked = connection
      .unsafe(
        `select * from heartbeat_runs
         where agent_id = $1 and status in ('queued', 'scheduled_retry', 'running')
           and coalesce(context_snapshot->>'taskKey', context_snapshot->>'taskId', context_snapshot->>'issueId') is not distinct from $2::text
         order by case status when 'queued' then 0 when 'scheduled_retry' then 1 else 2 end,
                  case when status = 'running' then -extract(epoch from created_at) else extract(epoch from created_at) end
         limit 1
         for update`,
        [p.agent.id, wakeScopeKey(p.ctx)],
        PREPARED,
      )
      .execute();
    const slot = options.claim ? freeSlot(deps, connection, p.agent.id) : null;
    const [, [raw]] = await Promise.all([locked, picked, slot?.catch(() => null)]);
    const found = raw ? runRowFromDriver(raw) : null;
    const running = found?.status === 'running' ? found : null;
    const followup = running !== null && isFollowup(p);
    const target = found && !(running && followup) ? found : null;
    if (target) {
      const { wake, run } = await coalesceInto(tx, p, target, p.input.reason ?? null);
      return { outcome: 'coalesced', wakeupRequest: wake, run, startAgentId: null };
    }
    const agent = slot ? await slot : null;
    return createQueuedRun(tx, events, p, null, agent ? (run, claimEvents) => claimNewRun(deps, tx, claimEvents, agent, run) : null);
  });
}

/**
 * The agent, read under its row lock (no key update), when one more run of it may start right
 * now: it can be invoked, nothing of it is queued, and fewer runs than its limit are running; null
 * otherwise. The row is locked before the new rows that reference it are written: taking it after
 * their foreign-key share lock would be an upgrade another waiter could deadlock with.
 */
function freeSlot(deps: EngineDeps, connection: postgres.TransactionSql, agentId: string): Promise<Agent | null> {
  return connection
    .unsafe(
      `select a.*,
         (select count(*) from heartbeat_runs r where r.agent_id = a.id and r.status = 'running')::int as hb_running,
         (select count(*) from heartbeat_runs r where r.agent_id = a.id and r.status = 'queued')::int as hb_queued
       from agents a where a.id = $1
       for no key update of a`,
      [agentId],
      PREPARED,
    )
    .execute()
    .then(([raw]) => {
      if (!raw) return null;
      const agent = agentRowFromDriver(raw);
      if (!isInvokable(agent.status) || Number(raw.hb_queued) > 0) return null;
      return Number(raw.hb_running) < readHeartbeatPolicy(agent.runtimeConfig, deps.settings).maxConcurrentRuns ? agent : null;
    });
}
