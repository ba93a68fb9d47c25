// The vocabulary of runs and wakeups: row types, status sets, and the live events a row change
// produces. (The writes are in runs/.)
import type { RunStatus } from '../../db/enums.ts';
import type { heartbeatRuns, issues, wakeupRequests } from '../../db/schema.ts';
import type { LiveEvent, RunStateSnapshot } from '../live/live-events.ts';

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

/** The columns a run's status event is made of (runStatusEvent): its state, and whose run it is. */
export const RUN_STATUS_EVENT_COLUMNS = [
  ...RUN_STATE_COLUMNS, 'id', 'companyId', 'agentId', 'issueId', 'invocationSource', 'triggerDetail',
] as const satisfies ReadonlyArray<keyof RunRow>;
export type RunStatusRow = Pick<RunRow, (typeof RUN_STATUS_EVENT_COLUMNS)[number]>;

export function runStatusEvent(run: RunStatusRow): LiveEvent {
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
