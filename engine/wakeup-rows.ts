// The rows a wakeup request writes, whichever path it takes (wakeups.ts, issue-wakeups.ts,
// plain-wakeups.ts): a skipped request, a new queued wakeup and run (maybe claimed at once), or a
// request folded into a run already on its way.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import type { ActorType, TriggerDetail, WakeupSource } from '../db/enums.ts';
import { type agents, heartbeatRuns, wakeupRequests } from '../db/schema.ts';
import type { ClaimedRun } from './claim.ts';
import type { EngineDeps } from './deps.ts';
import type { LiveEvent } from './live-events.ts';
import type { PipelinedTransaction } from './pipelined-transaction.ts';
import { connectionOf, newRunRow, runRowFromDriver, wakeupRowFromDriver } from './run-rows.ts';
import { type RunRow, runQueuedEvent, type WakeupRow } from './runs.ts';
import { mergeWakeContext, positiveIntOrZero, unreceivedWakeParts, type WakeContext } from './wake-context.ts';

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

/** Spec §6.1 step 3f / 4: a new queued wakeup and run (and, from enqueueWithoutIssue, maybe its claim). */
export async function createQueuedRun(
  tx: Transaction | PipelinedTransaction,
  events: LiveEvent[],
  p: PreparedWakeup,
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
  const claiming = claim?.(newQueuedRun(runId, wakeId, p, issueId), claimEvents) ?? null;
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
export const PREPARED = { prepare: true } as const;

/** createQueuedRun's run row as the database will store it (what claimNewRun claims before it answers). */
function newQueuedRun(id: string, wakeupRequestId: string, p: PreparedWakeup, issueId: string | null): RunRow {
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
  });
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
