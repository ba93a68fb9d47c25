// The issue's execution lock (docs/engine.md §6.9): which run of an issue executes it.
import { and, eq, inArray } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { issues } from '../../db/schema.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { agentNameKey, type IssueRow, issueLockEvent, type RunRow } from '../model/runs.ts';

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

/** The runs among `runIds` that an issue's execution lock names (issues_execution_run_idx). */
export async function issueLockHolders(tx: Transaction, runIds: string[]): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const rows = await tx.select({ runId: issues.executionRunId }).from(issues).where(inArray(issues.executionRunId, runIds));
  return new Set(rows.map((row) => row.runId!));
}
