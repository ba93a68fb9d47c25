// The writes of process loss (docs/engine.md §6.11): a lost run failed as `process_lost` with its
// one retry queued, a run whose process lives on without its handle flagged detached, and the flag
// cleared when it shows signs of life. recovery/reaper.ts and recovery/process-loss.ts find the
// runs and decide; these write them.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { agents, heartbeatRuns } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { stopMetadataFor } from '../rules/run-outcome.ts';
import { appendRunEvent, appendRunEvents, type EventGroup } from './events.ts';
import { handIssueLockToRetry } from './issue-lock.ts';
import { type RunRow, runQueuedEvent, runStatusEvent } from '../model/runs.ts';
import { settleRun } from './settle.ts';
import { executePrepared, iso, json, runRowFromDriver } from '../store/statements.ts';
import { classifyRunsLiveness } from './liveness-evidence.ts';
import { insertSystemWakeups } from './system-wakeups.ts';

/** How many automatic retries a run lost with its process gets (§6.11). */
export const PROCESS_LOSS_MAX_RETRIES = 1;

/** Spec §6.11-A, pid alive: the run stays running, flagged `process_detached` (once). */
export async function markDetached(deps: EngineDeps, run: RunRow): Promise<void> {
  if (run.errorCode === 'process_detached') return;
  await transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const [flagged] = await tx
      .update(heartbeatRuns)
      .set({ error: `Lost in-memory process handle, but child pid ${run.processPid} is still alive`, errorCode: 'process_detached', updatedAt: now })
      .where(and(eq(heartbeatRuns.id, run.id), eq(heartbeatRuns.status, 'running')))
      .returning();
    if (!flagged) return;
    await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'warn', message: flagged.error, payload: { processPid: run.processPid } }, now);
    events.push(runStatusEvent(flagged));
  });
}

/** Spec §6.11-D: a detached run that shows signs of life again loses its warning. */
export async function reportRunActivity(deps: EngineDeps, runId: string): Promise<RunRow | null> {
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const [cleared] = await tx
      .update(heartbeatRuns)
      .set({ error: null, errorCode: null, updatedAt: now })
      .where(and(eq(heartbeatRuns.id, runId), eq(heartbeatRuns.status, 'running'), eq(heartbeatRuns.errorCode, 'process_detached')))
      .returning();
    if (!cleared) return (await tx.query.heartbeatRuns.findFirst({ where: { id: runId } })) ?? null;
    await appendRunEvent(tx, events, { runId, eventType: 'lifecycle', level: 'info', message: 'Run reported activity again; the detached warning is cleared' }, now);
    events.push(runStatusEvent(cleared));
    return cleared;
  });
}

export interface LostRun {
  message: string;
  retry: boolean;
  pid: number | null;
  pgid: number | null;
  descendantOnlyCleanup: boolean;
}

/** A lost run to fail, with what the reaper found out about it. */
export interface LostRunItem {
  candidate: { run: RunRow; agentName: string };
  lost: LostRun;
}

/**
 * Fails lost runs and, where allowed, queues each one's retry (spec §6.11-A/B), all in one
 * transaction: the runs locked, failed, their wakeups closed and the retried ones settled in one
 * statement each for the set; liveness, retry and error event per run. Per item: null when another
 * instance got there first. Called with one item when a set fails as a whole.
 */
export async function failLostRuns(deps: EngineDeps, items: LostRunItem[]): Promise<Array<{ failed: RunRow; retry: RunRow | null } | null>> {
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const ids = items.map((item) => item.candidate.run.id);
    const locked = await tx
      .select()
      .from(heartbeatRuns)
      .where(and(inArray(heartbeatRuns.id, ids), eq(heartbeatRuns.status, 'running')))
      .orderBy(heartbeatRuns.id)
      .for('update', { skipLocked: true });
    if (locked.length === 0) return items.map(() => null);
    const agentIds = [...new Set(locked.map((run) => run.agentId))];
    const timeouts = new Map(
      (await tx.select({ id: agents.id, adapterConfig: agents.adapterConfig }).from(agents).where(inArray(agents.id, agentIds))).map((agent) => [
        agent.id,
        agent.adapterConfig.timeoutSec,
      ]),
    );
    const byId = new Map(items.map((item) => [item.candidate.run.id, item]));
    const input = locked.map((run) => {
      const { lost } = byId.get(run.id)!;
      const stop = stopMetadataFor({ status: 'failed', errorCode: 'process_lost', error: lost.message, configuredTimeoutSec: timeouts.get(run.agentId), adapterDefaultTimeoutSec: 0 });
      return { id: run.id, wakeup_request_id: run.wakeupRequestId, error: lost.message, result_json: { ...(run.resultJson ?? {}), ...stop } };
    });
    const failedRows = await executePrepared(tx, sql`
      update heartbeat_runs r
      set status = 'failed', error = i.error, error_code = 'process_lost', finished_at = ${iso(now)}::timestamptz,
          updated_at = ${iso(now)}::timestamptz, run_token_hash = null, result_json = i.result_json
      from jsonb_to_recordset(${json(input)}::jsonb) as i(id uuid, error text, result_json jsonb)
      where r.id = i.id
      returning r.*`);
    await executePrepared(tx, sql`
      update agent_wakeup_requests w
      set status = 'failed', error = i.error, finished_at = ${iso(now)}::timestamptz, updated_at = ${iso(now)}::timestamptz
      from jsonb_to_recordset(${json(input.filter((row) => row.wakeup_request_id))}::jsonb) as i(wakeup_request_id uuid, error text)
      where w.id = i.wakeup_request_id`);
    const failed = failedRows.map((row) => runRowFromDriver(row));
    const classified = new Map((await classifyRunsLiveness(tx, failed)).map((run) => [run.id, run]));
    const retried = failed.filter((run) => byId.get(run.id)!.lost.retry).map((run) => classified.get(run.id)!);
    const retries = await queueProcessLossRetries(tx, events, retried.map((run) => ({ lost: run, agentName: byId.get(run.id)!.candidate.agentName })), now);
    const retryOf = new Map(retries.map((retry) => [retry.retryOfRunId!, retry]));
    const errorEvents = failed.map((run) => {
      const { lost } = byId.get(run.id)!;
      const retry = retryOf.get(run.id) ?? null;
      return {
        runId: run.id,
        events: [
          {
            runId: run.id,
            eventType: 'error',
            level: 'error' as const,
            message: retry ? `${lost.message}; queued retry ${retry.id}` : lost.message,
            payload: { pid: lost.pid, pgid: lost.pgid, descendantOnlyCleanup: lost.descendantOnlyCleanup, retryRunId: retry?.id ?? null },
          },
        ],
      };
    });
    await appendEventsIn(tx, events, errorEvents, now);
    const results = new Map(failed.map((run) => [run.id, { failed: classified.get(run.id)!, retry: retryOf.get(run.id) ?? null }]));
    // A retried run has nothing left to follow it (its retry holds what it held): it settles now.
    const settled = await settleRun(tx, events, retried.map((run) => run.id), now);
    for (const run of settled) results.set(run.id, { ...results.get(run.id)!, failed: run });
    const settledIds = new Set(settled.map((run) => run.id));
    for (const result of results.values()) if (!settledIds.has(result.failed.id)) events.push(runStatusEvent(result.failed));
    return items.map((item) => results.get(item.candidate.run.id) ?? null);
  });
}

/** Spec §6.11-B: the one retry of each lost run, holding its issue's lock in its place. */
async function queueProcessLossRetries(tx: Transaction, events: LiveEvent[], lostRuns: Array<{ lost: RunRow; agentName: string }>, now: Date): Promise<RunRow[]> {
  const retries = await insertSystemWakeups(
    tx,
    lostRuns.map(({ lost }) => ({
      companyId: lost.companyId,
      agentId: lost.agentId,
      issueId: lost.issueId,
      reason: 'process_lost_retry',
      payload: { ...(lost.issueId ? { issueId: lost.issueId } : {}), retryOfRunId: lost.id },
      run: {
        status: 'queued' as const,
        contextSnapshot: { ...lost.contextSnapshot, retryOfRunId: lost.id, wakeReason: 'process_lost_retry', retryReason: 'process_lost' },
        retryOfRunId: lost.id,
        processLossRetryCount: lost.processLossRetryCount + 1,
        continuationAttempt: lost.continuationAttempt,
      },
      now,
    })),
  );
  for (const [i, retry] of retries.entries()) await handIssueLockToRetry(tx, events, retry, lostRuns[i].agentName, now);
  await appendEventsIn(
    tx,
    events,
    retries.map((retry) => ({
      runId: retry.id,
      events: [{ runId: retry.id, eventType: 'lifecycle', level: 'warn' as const, message: `Queued to retry run ${retry.retryOfRunId}, whose process was lost`, payload: { retryOfRunId: retry.retryOfRunId } }],
    })),
    now,
  );
  for (const retry of retries) events.push(runQueuedEvent(retry));
  return retries;
}

/** Events of many runs in one statement, in the caller's transaction (its own runs: none is held elsewhere). */
async function appendEventsIn(tx: Transaction, events: LiveEvent[], groups: EventGroup[], now: Date): Promise<void> {
  await appendRunEvents(tx, events, groups, now, { wait: true, unlessSettled: false });
}
