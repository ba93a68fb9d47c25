// Small facts recorded on a run after it was queued, each by the step that learns it: the process
// it runs in, the answer its issue got (comment policy), the continuation it is, the run it
// retries. One function each, so that runs/ stays the only writer of a run's row.
import { and, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { heartbeatRuns } from '../../db/schema.ts';
import type { RunRow } from '../model/runs.ts';

/** The process the adapter started for the run (§6.4 step 4): what the reaper checks when it is lost. */
export async function recordRunProcess(db: Executor, runId: string, process: { pid: number | null; processGroupId: number | null }, now: Date): Promise<void> {
  await db.update(heartbeatRuns).set({ processPid: process.pid, processGroupId: process.processGroupId, processStartedAt: now }).where(eq(heartbeatRuns.id, runId));
}

/** §6.10: whether the run's issue got the comment its wake asked for. */
export async function setIssueCommentStatus(
  db: Executor,
  runId: string,
  status: RunRow['issueCommentStatus'],
  extra: Partial<Pick<RunRow, 'issueCommentSatisfiedByCommentId' | 'issueCommentRetryQueuedAt'>> = {},
): Promise<void> {
  await db.update(heartbeatRuns).set({ issueCommentStatus: status, ...extra }).where(eq(heartbeatRuns.id, runId));
}

/** §6.8: a queued run that a continuation wakeup joined becomes that continuation (its attempt). */
export async function markContinuation(db: Executor, runId: string, attempt: number): Promise<void> {
  await db.update(heartbeatRuns).set({ continuationAttempt: attempt }).where(and(eq(heartbeatRuns.id, runId), eq(heartbeatRuns.status, 'queued')));
}

/** §6.8: the run's liveness reason says that no continuation follows it any more. */
export async function setLivenessReason(db: Executor, runId: string, reason: string): Promise<void> {
  await db.update(heartbeatRuns).set({ livenessReason: reason }).where(eq(heartbeatRuns.id, runId));
}

/** §6.14: the run retries `retryOfRunId`, unless it already retries another. */
export async function linkRetryOf(db: Executor, runId: string, retryOfRunId: string): Promise<void> {
  await db.update(heartbeatRuns).set({ retryOfRunId }).where(and(eq(heartbeatRuns.id, runId), isNull(heartbeatRuns.retryOfRunId)));
}
