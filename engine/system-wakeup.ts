// When the engine itself wakes an agent (a bounded retry, a process-loss retry, an issue recovery,
// a missing-comment retry), it has already decided that the run must exist: it skips enqueue's
// rules (coalescing, deferral) and writes the wakeup request and its run directly, linked both
// ways. One function does that, so every system wakeup records the same source, actor and times.
import { eq } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { heartbeatRuns, wakeupRequests } from '../db/schema.ts';
import type { RunRow } from './runs.ts';

type NewRun = typeof heartbeatRuns.$inferInsert;

/** The run's own columns; the ones left out keep their defaults. */
export type SystemRunColumns = Pick<NewRun, 'contextSnapshot' | 'retryOfRunId'> & {
  status: 'queued' | 'scheduled_retry';
} & Partial<Pick<NewRun, 'scheduledRetryAt' | 'scheduledRetryAttempt' | 'scheduledRetryReason' | 'processLossRetryCount' | 'continuationAttempt'>>;

export interface SystemWakeup {
  companyId: string;
  agentId: string;
  issueId: string | null;
  /** The wakeup request's reason, e.g. `process_lost_retry`. */
  reason: string;
  /** The wakeup request's payload. */
  payload: Record<string, unknown>;
  /** The run's status, context and retry bookkeeping. */
  run: SystemRunColumns;
  now: Date;
}

/**
 * Inserts a queued wakeup request from the system and its run, and points the wakeup at the run;
 * returns the run. Stamps no issue lock and publishes no live event: callers do those in the order
 * their step needs.
 */
export async function insertSystemWakeup(tx: Transaction, input: SystemWakeup): Promise<RunRow> {
  const { companyId, agentId, issueId, now } = input;
  const [wake] = await tx
    .insert(wakeupRequests)
    .values({
      companyId,
      agentId,
      source: 'automation',
      triggerDetail: 'system',
      reason: input.reason,
      payload: input.payload,
      status: 'queued',
      requestedByActorType: 'system',
      requestedByActorId: 'heartbeat',
      requestedAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  const [run] = await tx
    .insert(heartbeatRuns)
    .values({
      ...input.run,
      companyId,
      agentId,
      issueId,
      invocationSource: 'automation',
      triggerDetail: 'system',
      wakeupRequestId: wake.id,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await tx.update(wakeupRequests).set({ runId: run.id }).where(eq(wakeupRequests.id, wake.id));
  return run;
}
