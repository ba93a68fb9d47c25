// The rows a wakeup request writes, whichever path it takes (wakeups/enqueue.ts,
// wakeups/enqueue-on-issue.ts, wakeups/enqueue-without-issue.ts): a skipped request, a new queued
// wakeup and run (maybe claimed at once), or a request folded into a run already on its way.
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { ActorType, TriggerDetail, WakeupSource } from '../../db/enums.ts';
import { type agents, heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import type { ClaimedRun } from './claim.ts';
import { appendRunEvent } from './events.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import type { PipelinedTransaction } from '../store/pipelined-transaction.ts';
import { executePrepared, iso, json, newRunRow, runRowFromDriver, type StatementTarget, wakeupRowFromDriver } from '../store/statements.ts';
import { type RunRow, runQueuedEvent, type WakeupRow } from '../model/runs.ts';
import { mergeWakeContext, positiveIntOrZero, unreceivedWakeParts, type WakeContext } from '../rules/wake-context.ts';

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
  /** Start a fresh session instead of resuming the task's (docs/engine.md §12.3). */
  forceFreshSession?: boolean | null;
  /** Resume the session an earlier run of this agent left (§12.8). */
  resumeFromRunId?: string | null;
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

export type Agent = typeof agents.$inferSelect;

/** A wakeup request with what enqueueWakeup read and derived before choosing its path. */
export interface PreparedWakeup {
  input: EnqueueWakeupInput;
  agent: Agent;
  source: WakeupSource;
  payload: Record<string, unknown> | null;
  ctx: WakeContext;
  now: Date;
}

export function wakeValues(p: PreparedWakeup) {
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

export async function insertSkipped(
  deps: EngineDeps,
  p: PreparedWakeup,
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

/** §6.1 step 3f / 4: a new queued wakeup and run (and, from enqueueWithoutIssue, maybe its claim). */
export async function createQueuedRun(
  tx: Transaction | PipelinedTransaction,
  events: LiveEvent[],
  p: PreparedWakeup,
  issueId: string | null,
  claim: ((run: RunRow, events: LiveEvent[]) => Promise<ClaimedRun> | null) | null = null,
): Promise<EnqueueResult & { claimed?: ClaimedRun }> {
  // The wakeup row as it ends up once linked to its run (linking it stamped updated_at with the
  // wall clock, like every update without one). The claim, if any, is sent right behind the rows.
  const run = newQueuedRun(randomUUID(), randomUUID(), p, issueId);
  const inserted = queueRuns(tx, [{ wake: { id: run.wakeupRequestId!, ...wakeValues(p), updatedAt: new Date() }, run }]);
  const claimEvents: LiveEvent[] = [];
  const claiming = claim?.(run, claimEvents) ?? null;
  const [{ wakes, runs }, claimed] = await Promise.all([inserted, claiming]);
  // The queued run is what the wakeup became, whether or not it was started at once.
  events.push(runQueuedEvent(runs[0]), ...claimEvents);
  return { outcome: 'queued', wakeupRequest: wakes[0], run: runs[0], startAgentId: claimed ? null : p.agent.id, ...(claimed ? { claimed } : {}) };
}

/** A new wakeup request row, as queueRuns writes it (queued, naming its run). */
export type NewWakeup = ReturnType<typeof wakeValues> & { id: string };

/** The columns of a new run that queueRuns writes; the others keep their defaults. */
export type NewQueuedRun = Pick<
  RunRow,
  'id' | 'companyId' | 'agentId' | 'issueId' | 'invocationSource' | 'triggerDetail' | 'wakeupRequestId' | 'contextSnapshot' | 'createdAt' | 'updatedAt'
> & { status: 'queued' | 'scheduled_retry' } & Partial<
    Pick<RunRow, 'continuationAttempt' | 'retryOfRunId' | 'scheduledRetryAt' | 'scheduledRetryAttempt' | 'scheduledRetryReason' | 'processLossRetryCount'>
  >;

/**
 * Queues runs (§6.1): the one write of new runs, for requests (createQueuedRun), for runs the
 * engine makes itself (system-wakeups.ts) and for promoted wakeups (recovery/issue-release.ts).
 * Each run comes with its new wakeup request, or with none when its wakeup exists already (the
 * caller links it). Both ids are chosen by the caller, so the two rows are written together, each
 * naming the other: two statements for any number of runs, sent at once (the caller may send
 * more behind them). Returns the rows as stored, in the order given.
 */
export async function queueRuns(target: StatementTarget, items: Array<{ wake: NewWakeup | null; run: NewQueuedRun }>): Promise<{ wakes: WakeupRow[]; runs: RunRow[] }> {
  if (items.length === 0) return { wakes: [], runs: [] };
  const wakes = items.flatMap(({ wake, run }) =>
    wake
      ? [{
          id: wake.id, company_id: wake.companyId, agent_id: wake.agentId, source: wake.source, trigger_detail: wake.triggerDetail, reason: wake.reason,
          payload: wake.payload, requested_by_actor_type: wake.requestedByActorType, requested_by_actor_id: wake.requestedByActorId,
          idempotency_key: wake.idempotencyKey, requested_at: iso(wake.requestedAt), created_at: iso(wake.createdAt), updated_at: iso(wake.updatedAt), run_id: run.id,
        }]
      : [],
  );
  const runs = items.map(({ run }) => ({
    id: run.id, company_id: run.companyId, agent_id: run.agentId, issue_id: run.issueId, invocation_source: run.invocationSource,
    trigger_detail: run.triggerDetail, status: run.status, wakeup_request_id: run.wakeupRequestId, context_snapshot: run.contextSnapshot,
    continuation_attempt: run.continuationAttempt ?? 0, retry_of_run_id: run.retryOfRunId ?? null,
    scheduled_retry_at: run.scheduledRetryAt ? iso(run.scheduledRetryAt) : null, scheduled_retry_attempt: run.scheduledRetryAttempt ?? 0,
    scheduled_retry_reason: run.scheduledRetryReason ?? null, process_loss_retry_count: run.processLossRetryCount ?? 0,
    created_at: iso(run.createdAt), updated_at: iso(run.updatedAt),
  }));
  const [wakeRows, runRows] = await Promise.all([
    wakes.length === 0
      ? Promise.resolve([])
      : executePrepared(target, sql`
          insert into agent_wakeup_requests (id, company_id, agent_id, source, trigger_detail, reason, payload, requested_by_actor_type,
            requested_by_actor_id, idempotency_key, requested_at, created_at, updated_at, status, run_id)
          select id, company_id, agent_id, source, trigger_detail, reason, payload, requested_by_actor_type, requested_by_actor_id, idempotency_key,
            requested_at, created_at, updated_at, 'queued', run_id
          from jsonb_to_recordset(${json(wakes)}::jsonb) as w(id uuid, company_id uuid, agent_id uuid, source wakeup_source, trigger_detail trigger_detail,
            reason text, payload jsonb, requested_by_actor_type actor_type, requested_by_actor_id text, idempotency_key text, requested_at timestamptz,
            created_at timestamptz, updated_at timestamptz, run_id uuid)
          returning *`),
    executePrepared(target, sql`
      insert into heartbeat_runs (id, company_id, agent_id, issue_id, invocation_source, trigger_detail, status, wakeup_request_id, context_snapshot,
        continuation_attempt, retry_of_run_id, scheduled_retry_at, scheduled_retry_attempt, scheduled_retry_reason, process_loss_retry_count, created_at, updated_at)
      select id, company_id, agent_id, issue_id, invocation_source, trigger_detail, status, wakeup_request_id, context_snapshot, continuation_attempt,
        retry_of_run_id, scheduled_retry_at, scheduled_retry_attempt, scheduled_retry_reason, process_loss_retry_count, created_at, updated_at
      from jsonb_to_recordset(${json(runs)}::jsonb) as r(id uuid, company_id uuid, agent_id uuid, issue_id uuid, invocation_source wakeup_source,
        trigger_detail trigger_detail, status run_status, wakeup_request_id uuid, context_snapshot jsonb, continuation_attempt int, retry_of_run_id uuid,
        scheduled_retry_at timestamptz, scheduled_retry_attempt int, scheduled_retry_reason text, process_loss_retry_count int, created_at timestamptz,
        updated_at timestamptz)
      returning *`),
  ]);
  const wakeById = new Map(wakeRows.map(wakeupRowFromDriver).map((row) => [row.id, row]));
  const runById = new Map(runRows.map(runRowFromDriver).map((row) => [row.id, row]));
  return { wakes: wakes.map((w) => wakeById.get(w.id)!), runs: items.map(({ run }) => runById.get(run.id)!) };
}

/**
 * postgres.js runs `unsafe` statements unprepared, which costs a describe round trip before every
 * execution; these are the hot path's, so they are prepared once per connection.
 */
export const PREPARED = { prepare: true } as const;

/** createQueuedRun's run row as the database will store it (what claimNewRun claims before it answers). */
function newQueuedRun(id: string, wakeupRequestId: string, p: PreparedWakeup, issueId: string | null): RunRow & NewQueuedRun {
  return newRunRow({
    id,
    companyId: p.agent.companyId,
    agentId: p.agent.id,
    issueId,
    invocationSource: p.source,
    triggerDetail: p.input.triggerDetail ?? null,
    status: 'queued',
    wakeupRequestId,
    contextSnapshot: p.ctx,
    continuationAttempt: positiveIntOrZero(p.ctx.livenessContinuationAttempt),
    retryOfRunId: p.input.retryOfRunId ?? null,
    createdAt: p.now,
    updatedAt: p.now,
  }) as RunRow & NewQueuedRun;
}

/**
 * Folds the wakeup into `target`: its context absorbs the new one and a `coalesced` row records it
 * (coalesced_count 1, as spec §6.1 step 3e writes it). The wakeup `target` was created from counts
 * the wakeups merged into it, as a deferred wakeup does (same step), so both ends show the merge.
 * A running `target` keeps its context: that is what its process was started with, and what later
 * wakeups are compared with (needsFollowup); only wakeups that bring nothing new join it.
 */
export async function coalesceInto(
  tx: Transaction,
  p: PreparedWakeup,
  target: RunRow,
  reason: string | null,
): Promise<{ wake: WakeupRow; run: RunRow }> {
  const [run] =
    target.status === 'running'
      ? [target]
      : await tx
          .update(heartbeatRuns)
          .set({ contextSnapshot: mergeWakeContext(target.contextSnapshot, p.ctx), updatedAt: p.now })
          .where(eq(heartbeatRuns.id, target.id))
          .returning();
  if (target.wakeupRequestId) {
    await tx
      .update(wakeupRequests)
      .set({ coalescedCount: sql`${wakeupRequests.coalescedCount} + 1`, updatedAt: p.now })
      .where(eq(wakeupRequests.id, target.wakeupRequestId));
  }
  const [wake] = await tx
    .insert(wakeupRequests)
    .values({ ...wakeValues(p), status: 'coalesced', reason, coalescedCount: 1, runId: target.id, finishedAt: p.now })
    .returning();
  return { wake, run };
}

/**
 * Whether the wakeup, about to join `target` (the run of its task scope on its way), needs a
 * follow-up run instead: `target` is already executing and the wakeup carries something it did
 * not receive (wake-context.ts unreceivedWakeParts: payload keys or values, comment ids, a
 * directive reason). A queued or scheduled run gets the merged context when it starts, so joining
 * it is enough. The follow-up is ONE run per running run and scope: without an issue a new queued
 * run, which later such wakeups join like any queued run; on an issue the deferred wakeup behind
 * the run holding the issue's execution lock, which they merge into and which is promoted to a
 * queued run when that run releases the issue (§6.9).
 */
export const needsFollowup = (p: PreparedWakeup, target: RunRow) =>
  target.status === 'running' && unreceivedWakeParts(target.contextSnapshot, p.ctx) !== null;

/** scheduled_retry -> queued (guarded), with a lifecycle event saying why; null when it moved on meanwhile. */
export async function promoteScheduledRetry(
  tx: Transaction,
  events: LiveEvent[],
  runId: string,
  now: Date,
  why: { message: string; payload?: Record<string, unknown> },
): Promise<RunRow | null> {
  const [queued] = await tx
    .update(heartbeatRuns)
    .set({ status: 'queued', updatedAt: now })
    .where(and(eq(heartbeatRuns.id, runId), eq(heartbeatRuns.status, 'scheduled_retry')))
    .returning();
  if (!queued) return null;
  await appendRunEvent(tx, events, { runId, eventType: 'lifecycle', level: 'info', ...why }, now);
  events.push(runQueuedEvent(queued));
  return queued;
}
