// When the engine itself wakes an agent (a bounded retry, a process-loss retry, an issue recovery,
// a missing-comment retry), it has already decided that the run must exist: it skips enqueue's
// rules (coalescing, deferral) and writes the wakeup request and its run directly, linked both
// ways. One function does that, so every system wakeup records the same source, actor and times.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { heartbeatRuns, wakeupRequests } from '../db/schema.ts';
import { executePrepared } from './run-rows.ts';
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
 * Inserts queued wakeup requests from the system and their runs, and points each wakeup at its
 * run: three statements for one or many; returns the runs, in order. Stamps no issue lock and
 * publishes no live event: callers do those in the order their step needs.
 */
export async function insertSystemWakeups(tx: Transaction, inputs: SystemWakeup[]): Promise<RunRow[]> {
  if (inputs.length === 0) return [];
  // Ids chosen here tie each run to its wakeup without relying on the order rows come back in.
  const ids = inputs.map(() => ({ wake: randomUUID(), run: randomUUID() }));
  await tx.insert(wakeupRequests).values(
    inputs.map((input, i) => ({
      id: ids[i].wake,
      companyId: input.companyId,
      agentId: input.agentId,
      source: 'automation' as const,
      triggerDetail: 'system' as const,
      reason: input.reason,
      payload: input.payload,
      status: 'queued' as const,
      requestedByActorType: 'system' as const,
      requestedByActorId: 'heartbeat',
      requestedAt: input.now,
      createdAt: input.now,
      updatedAt: input.now,
    })),
  );
  const runs = await tx
    .insert(heartbeatRuns)
    .values(
      inputs.map((input, i) => ({
        ...input.run,
        id: ids[i].run,
        companyId: input.companyId,
        agentId: input.agentId,
        issueId: input.issueId,
        invocationSource: 'automation' as const,
        triggerDetail: 'system' as const,
        wakeupRequestId: ids[i].wake,
        createdAt: input.now,
        updatedAt: input.now,
      })),
    )
    .returning();
  await executePrepared(tx, sql`
    update agent_wakeup_requests w set run_id = i.run_id
    from jsonb_to_recordset(${JSON.stringify(ids.map((pair) => ({ id: pair.wake, run_id: pair.run })))}::jsonb) as i(id uuid, run_id uuid)
    where w.id = i.id`);
  const byId = new Map(runs.map((run) => [run.id, run]));
  return ids.map((pair) => byId.get(pair.run)!);
}

/** insertSystemWakeups for one. */
export async function insertSystemWakeup(tx: Transaction, input: SystemWakeup): Promise<RunRow> {
  return (await insertSystemWakeups(tx, [input]))[0];
}
