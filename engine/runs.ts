// Shared vocabulary over heartbeat_runs and wakeup rows: status sets, row types, the live events a
// row change produces, and the few writes every algorithm needs.
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Executor, Transaction } from '../db/client.ts';
import type { RunStatus, WakeupStatus } from '../db/enums.ts';
import { heartbeatRuns, issues, wakeupRequests } from '../db/schema.ts';
import type { LiveEvent, RunStateSnapshot } from './live-events.ts';

export type RunRow = typeof heartbeatRuns.$inferSelect;
export type WakeupRow = typeof wakeupRequests.$inferSelect;
export type IssueRow = typeof issues.$inferSelect;

/** Statuses on the way to execution (spec: exec-path). */
export const EXEC_PATH_STATUSES = ['queued', 'running', 'scheduled_retry'] as const satisfies readonly RunStatus[];
export const UNSUCCESSFUL_STATUSES = ['failed', 'cancelled', 'timed_out'] as const satisfies readonly RunStatus[];
export const TERMINAL_STATUSES = ['succeeded', ...UNSUCCESSFUL_STATUSES] as const satisfies readonly RunStatus[];

export const isExecPath = (status: RunStatus) => (EXEC_PATH_STATUSES as readonly RunStatus[]).includes(status);
export const isTerminal = (status: RunStatus) => (TERMINAL_STATUSES as readonly RunStatus[]).includes(status);

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The columns a run's live state is made of. */
export const RUN_STATE_COLUMNS = [
  'status', 'createdAt', 'error', 'errorCode', 'startedAt', 'finishedAt', 'settledAt', 'updatedAt', 'livenessState', 'scheduledRetryAt', 'scheduledRetryAttempt',
] as const satisfies ReadonlyArray<keyof RunRow>;

export function runStateSnapshot(run: Pick<RunRow, (typeof RUN_STATE_COLUMNS)[number]>): RunStateSnapshot {
  return {
    status: run.status,
    createdAt: run.createdAt.toISOString(),
    error: run.error,
    errorCode: run.errorCode,
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    settledAt: iso(run.settledAt),
    updatedAt: run.updatedAt.toISOString(),
    livenessState: run.livenessState,
    scheduledRetryAt: iso(run.scheduledRetryAt),
    scheduledRetryAttempt: run.scheduledRetryAttempt,
  };
}

export function runStatusEvent(run: RunRow): LiveEvent {
  return {
    type: 'heartbeat.run.status',
    companyId: run.companyId,
    runId: run.id,
    agentId: run.agentId,
    issueId: run.issueId,
    status: run.status,
    invocationSource: run.invocationSource,
    triggerDetail: run.triggerDetail,
    error: run.error,
    errorCode: run.errorCode,
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    state: runStateSnapshot(run),
  };
}

export function runQueuedEvent(run: RunRow): LiveEvent {
  return {
    type: 'heartbeat.run.queued',
    companyId: run.companyId,
    runId: run.id,
    agentId: run.agentId,
    issueId: run.issueId,
    invocationSource: run.invocationSource,
    triggerDetail: run.triggerDetail,
    wakeupRequestId: run.wakeupRequestId,
    state: runStateSnapshot(run),
  };
}

export function issueLockEvent(issue: Pick<IssueRow, 'companyId' | 'id'>, executionRunId: string | null): LiveEvent {
  return { type: 'issue.lock', companyId: issue.companyId, issueId: issue.id, executionRunId };
}

/** The issue lock's name key: the agent name trimmed and lower-cased (spec §1). */
export const agentNameKey = (name: string) => name.trim().toLowerCase();

/** Points the issue's execution lock at `run`. */
export async function stampIssueLock(
  tx: Transaction,
  events: LiveEvent[],
  issue: Pick<IssueRow, 'companyId' | 'id'>,
  run: { id: string },
  agentName: string,
  now: Date,
): Promise<void> {
  await tx
    .update(issues)
    .set({ executionRunId: run.id, executionAgentNameKey: agentNameKey(agentName), executionLockedAt: now, updatedAt: now })
    .where(eq(issues.id, issue.id));
  events.push(issueLockEvent(issue, run.id));
}

/**
 * A retry takes over its issue's execution lock from the run it retries, or takes a free lock; a
 * lock that another run took meanwhile stays with that run.
 */
export async function handIssueLockToRetry(
  tx: Transaction,
  events: LiveEvent[],
  retry: Pick<RunRow, 'id' | 'issueId' | 'retryOfRunId'>,
  agentName: string,
  now: Date,
): Promise<void> {
  if (!retry.issueId) return;
  const [issue] = await tx.select().from(issues).where(eq(issues.id, retry.issueId)).for('update');
  if (issue && (issue.executionRunId === null || issue.executionRunId === retry.retryOfRunId)) {
    await stampIssueLock(tx, events, issue, retry, agentName, now);
  }
}

/** Clears the issue's execution lock if (and only if) it points at `runId`. */
export async function clearIssueLockIfHeldBy(
  tx: Transaction,
  events: LiveEvent[],
  issueId: string,
  runId: string,
  now: Date,
): Promise<boolean> {
  const cleared = await tx
    .update(issues)
    .set({ executionRunId: null, executionAgentNameKey: null, executionLockedAt: null, updatedAt: now })
    .where(and(eq(issues.id, issueId), eq(issues.executionRunId, runId)))
    .returning({ id: issues.id, companyId: issues.companyId });
  for (const issue of cleared) events.push(issueLockEvent(issue, null));
  return cleared.length > 0;
}

/** Moves a run's wakeup request to `status` (no-op without one). */
export async function setWakeStatus(
  tx: Transaction,
  wakeupRequestId: string | null,
  status: WakeupStatus,
  now: Date,
  extra: Partial<Pick<WakeupRow, 'error' | 'claimedAt' | 'finishedAt'>> = {},
): Promise<void> {
  if (!wakeupRequestId) return;
  const finishing = !['queued', 'claimed', 'deferred_issue_execution'].includes(status);
  await tx
    .update(wakeupRequests)
    .set({ status, updatedAt: now, ...(finishing ? { finishedAt: now } : {}), ...extra })
    .where(eq(wakeupRequests.id, wakeupRequestId));
}

/** Locks and returns runs by id (FOR UPDATE), skipping none. */
export async function lockRuns(tx: Transaction, ids: string[]): Promise<RunRow[]> {
  if (ids.length === 0) return [];
  return tx.select().from(heartbeatRuns).where(inArray(heartbeatRuns.id, ids)).for('update');
}

/**
 * Marks terminal runs settled (one or many): their follow-up work is done, so their events and state
 * are final.
 * Subscribers to the run's event stream complete on it.
 */
export async function settleRun(db: Executor, events: LiveEvent[], runIds: string | string[], now: Date): Promise<RunRow[]> {
  const ids = typeof runIds === 'string' ? [runIds] : runIds;
  if (ids.length === 0) return [];
  const settled = await db
    .update(heartbeatRuns)
    .set({ settledAt: now })
    .where(and(inArray(heartbeatRuns.id, ids), inArray(heartbeatRuns.status, [...TERMINAL_STATUSES]), isNull(heartbeatRuns.settledAt)))
    .returning();
  for (const run of settled) events.push(runStatusEvent(run));
  return settled;
}
