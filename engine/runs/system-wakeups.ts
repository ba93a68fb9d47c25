// When the engine itself wakes an agent (a bounded retry, a process-loss retry, an issue recovery,
// a missing-comment retry), it has already decided that the run must exist: it skips enqueue's
// rules (coalescing, deferral) and writes the wakeup request and its run directly, linked both
// ways. One function does that, so every system wakeup records the same source, actor and times.
import { randomUUID } from 'node:crypto';
import type { Transaction } from '../../db/client.ts';
import type { heartbeatRuns } from '../../db/schema.ts';
import type { RunRow } from '../model/runs.ts';
import { queueRuns } from './queue.ts';

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
 * Queues wakeup requests from the system and their runs, each naming the other (queue.ts
 * queueRuns), for one or many; returns the runs, in order. Stamps no issue lock and publishes no
 * live event: callers do those in the order their step needs.
 */
export async function insertSystemWakeups(tx: Transaction, inputs: SystemWakeup[]): Promise<RunRow[]> {
  const { runs } = await queueRuns(
    tx,
    inputs.map((input) => {
      const [wakeId, runId] = [randomUUID(), randomUUID()];
      return {
        wake: {
          id: wakeId,
          companyId: input.companyId,
          agentId: input.agentId,
          source: 'automation' as const,
          triggerDetail: 'system' as const,
          reason: input.reason,
          payload: input.payload,
          requestedByActorType: 'system' as const,
          requestedByActorId: 'heartbeat',
          idempotencyKey: null,
          requestedAt: input.now,
          createdAt: input.now,
          updatedAt: input.now,
        },
        run: {
          ...input.run,
          contextSnapshot: input.run.contextSnapshot ?? {},
          id: runId,
          companyId: input.companyId,
          agentId: input.agentId,
          issueId: input.issueId,
          invocationSource: 'automation' as const,
          triggerDetail: 'system' as const,
          wakeupRequestId: wakeId,
          createdAt: input.now,
          updatedAt: input.now,
        },
      };
    }),
  );
  return runs;
}

/** insertSystemWakeups for one. */
export async function insertSystemWakeup(tx: Transaction, input: SystemWakeup): Promise<RunRow> {
  return (await insertSystemWakeups(tx, [input]))[0];
}
