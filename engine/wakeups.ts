// enqueueWakeup (spec §6.1): a wakeup request becomes a queued run, is folded into a run already
// on its way (coalesced), waits behind another agent's run on the same issue (deferred), is skipped
// by a policy gate, or is recognised as a duplicate of an earlier request with the same key.
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import type { ActorType, TriggerDetail, WakeupSource } from '../db/enums.ts';
import { agents, heartbeatRuns, issues, wakeupRequests } from '../db/schema.ts';
import { agentAdvisoryLock } from './agent-lock.ts';
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

export async function enqueueWakeup(deps: EngineDeps, input: EnqueueWakeupInput): Promise<EnqueueResult> {
  const now = deps.clock.now();
  const source = input.source ?? 'on_demand';
  const payload = input.payload ?? null;
  const ctx = enrichWakeContext(input.context ?? {}, {
    source,
    triggerDetail: input.triggerDetail ?? null,
    reason: input.reason ?? null,
    payload,
  });
  const agent = await deps.db.query.agents.findFirst({ where: { id: input.agentId, companyId: input.companyId } });
  if (!agent) throw notFound('Agent');

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
    return issueId ? await enqueueOnIssue(deps, prepared, issueId) : await enqueueWithoutIssue(deps, prepared);
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

/** Spec §6.1 step 3f / 4: a new queued wakeup and run. */
async function createQueuedRun(
  tx: Transaction,
  events: LiveEvent[],
  p: Prepared,
  issueId: string | null,
): Promise<EnqueueResult> {
  const [wake] = await tx.insert(wakeupRequests).values({ ...wakeValues(p), status: 'queued' }).returning();
  const [run] = await tx
    .insert(heartbeatRuns)
    .values({
      companyId: p.agent.companyId,
      agentId: p.agent.id,
      issueId,
      invocationSource: p.source,
      triggerDetail: p.input.triggerDetail ?? null,
      status: 'queued',
      wakeupRequestId: wake.id,
      contextSnapshot: p.ctx,
      continuationAttempt: positiveIntOrZero(p.ctx.livenessContinuationAttempt),
      createdAt: p.now,
      updatedAt: p.now,
    })
    .returning();
  const [linked] = await tx
    .update(wakeupRequests)
    .set({ runId: run.id })
    .where(eq(wakeupRequests.id, wake.id))
    .returning();
  events.push(runQueuedEvent(run));
  return { outcome: 'queued', wakeupRequest: linked, run, startAgentId: p.agent.id };
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
async function enqueueWithoutIssue(deps: EngineDeps, p: Prepared): Promise<EnqueueResult> {
  return transact(deps, async (tx, events) => {
    await agentAdvisoryLock(tx, p.agent.id);
    const scope = wakeScopeKey(p.ctx);
    const sameScope = sql`coalesce(${heartbeatRuns.contextSnapshot}->>'taskKey', ${heartbeatRuns.contextSnapshot}->>'taskId', ${heartbeatRuns.contextSnapshot}->>'issueId') is not distinct from ${scope}`;
    const pick = async (status: 'queued' | 'scheduled_retry' | 'running') => {
      const [row] = await tx
        .select()
        .from(heartbeatRuns)
        .where(and(eq(heartbeatRuns.agentId, p.agent.id), eq(heartbeatRuns.status, status), sameScope))
        .orderBy(status === 'running' ? desc(heartbeatRuns.createdAt) : asc(heartbeatRuns.createdAt))
        .limit(1)
        .for('update');
      return row ?? null;
    };
    const queued = await pick('queued');
    const scheduled = queued ? null : await pick('scheduled_retry');
    const running = queued || scheduled ? null : await pick('running');
    const followup = running !== null && isFollowup(p);
    const target = queued ?? scheduled ?? (followup ? null : running);
    if (target) {
      const { wake, run } = await coalesceInto(tx, p, target, p.input.reason ?? null);
      return { outcome: 'coalesced', wakeupRequest: wake, run, startAgentId: null };
    }
    return createQueuedRun(tx, events, p, null);
  });
}
