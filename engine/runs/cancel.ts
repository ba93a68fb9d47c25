// Cancellation (spec §6.13). The row change commits first (so it wins any race with the run
// finishing); the process is killed by whichever instance runs it: this one directly, another one
// when it hears the NOTIFY sent with the commit.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import { notFound } from '../model/errors.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { gateStopMetadata, stopMetadataFor } from '../rules/run-outcome.ts';
import { clearIssueLockIfHeldBy, issueLockHolders } from './issue-lock.ts';
import { appendRunEvent } from './events.ts';
import { EXEC_PATH_STATUSES, isExecPath, type RunRow, runStatusEvent } from '../model/runs.ts';
import { setWakeStatus } from './wake-status.ts';
import { CONTROL_CHANNEL, type ControlMessage } from '../cluster/control-listeners.ts';


export interface CancelResult {
  /** The run after the call. */
  run: RunRow;
  /** The run as it was before; set only when this call cancelled it. */
  previous: RunRow | null;
  /**
   * An issue's execution lock named the run when it was cancelled. Its release is then owed only
   * while the lock still names it (recovery/issue-release.ts `heldOnly`): whoever settles the run
   * releases it too when it still does (§6.13, §6.11-H), and may do so first. A lock that did not
   * name it never will (no lock is given to a cancelled run): its release is made in the cancel's
   * own transaction, since nothing after the commit could tell it was owed (execution/cancellation.ts).
   */
  heldIssueLock: boolean;
}

async function cancelLockedRun(
  deps: EngineDeps,
  tx: Transaction,
  events: LiveEvent[],
  run: RunRow,
  reason: string,
  options: { event: boolean; stopReason?: string },
): Promise<RunRow> {
  const now = deps.clock.now();
  const agent = await tx.query.agents.findFirst({ where: { id: run.agentId }, columns: { adapterType: true, adapterConfig: true } });
  const stop = stopMetadataFor({
    status: 'cancelled',
    errorCode: 'cancelled',
    error: reason,
    configuredTimeoutSec: agent?.adapterConfig.timeoutSec,
    adapterDefaultTimeoutSec: 0,
  });
  const [cancelled] = await tx
    .update(heartbeatRuns)
    .set({
      status: 'cancelled',
      error: reason,
      errorCode: 'cancelled',
      finishedAt: now,
      updatedAt: now,
      resultJson: { ...(run.resultJson ?? {}), ...stop, ...(options.stopReason ? { stopReason: options.stopReason } : {}) },
    })
    .where(eq(heartbeatRuns.id, run.id))
    .returning();
  await setWakeStatus(tx, run.wakeupRequestId, 'cancelled', now);
  if (options.event) {
    await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'warn', message: 'run cancelled', payload: { reason } }, now);
  }
  if (run.status === 'running') {
    const message: ControlMessage = { kind: 'cancel', runId: run.id };
    await tx.execute(sql`select pg_notify(${CONTROL_CHANNEL}, ${JSON.stringify(message)})`);
  }
  events.push(runStatusEvent(cancelled));
  return cancelled;
}

/**
 * cancelRun, in the caller's transaction: a run on its way to execution becomes cancelled; any
 * other run is returned unchanged. `stopReason`: what its stop metadata says instead of the one its
 * reason implies (a silent run's `output_silence`, docs/engine.md §17); `onlyIf`: checked on the
 * locked row, false leaves the run unchanged (the engine's own cancels, decided on a row read before).
 */
export async function cancelRunRow(
  deps: EngineDeps,
  tx: Transaction,
  events: LiveEvent[],
  runId: string,
  options: { companyId?: string; reason?: string; stopReason?: string; onlyIf?: (run: RunRow) => boolean } = {},
): Promise<CancelResult> {
  const [run] = await tx
    .select()
    .from(heartbeatRuns)
    .where(and(eq(heartbeatRuns.id, runId), options.companyId ? eq(heartbeatRuns.companyId, options.companyId) : undefined))
    .for('update');
  if (!run) throw notFound('Run');
  if (!isExecPath(run.status) || (options.onlyIf && !options.onlyIf(run))) return { run, previous: null, heldIssueLock: false };
  const cancelled = await cancelLockedRun(deps, tx, events, run, options.reason ?? 'Cancelled by control plane', { event: true, stopReason: options.stopReason });
  // Read under the run's lock: nothing gives the lock to a run while another transaction holds it.
  const held = await issueLockHolders(tx, [run.id]);
  return { run: cancelled, previous: run, heldIssueLock: held.has(run.id) };
}

/** cancelActiveForAgent: every run of the agent on its way to execution; returns what was cancelled. */
/** Whose runs a bulk cancel stops: one agent's, or a company's (optionally only those on a project's issues). */
export type RunScope = { agentId: string } | { companyId: string; agentId?: string; projectId?: string };

/**
 * Cancels every run in the scope on its way to execution (§6.13), in the caller's transaction, and
 * closes the wakeups waiting for one there (queued or deferred behind a running run). `stopReason`:
 * what the runs' stop metadata says instead of `cancelled` (a budget's `budget_paused`, §14.3).
 */
export async function cancelRunRowsInScope(
  deps: EngineDeps,
  tx: Transaction,
  events: LiveEvent[],
  scope: RunScope,
  reason = 'Cancelled due to agent pause',
  stopReason?: string,
): Promise<CancelResult[]> {
  const conditions = [inArray(heartbeatRuns.status, [...EXEC_PATH_STATUSES])];
  if ('companyId' in scope) conditions.push(eq(heartbeatRuns.companyId, scope.companyId));
  if (scope.agentId) conditions.push(eq(heartbeatRuns.agentId, scope.agentId));
  if ('projectId' in scope && scope.projectId) {
    conditions.push(sql`${heartbeatRuns.issueId} in (select id from issues where project_id = ${scope.projectId})`);
  }
  const runs = await tx.select().from(heartbeatRuns).where(and(...conditions)).orderBy(heartbeatRuns.id).for('update');
  const held = await issueLockHolders(tx, runs.map((run) => run.id));
  const results: CancelResult[] = [];
  for (const run of runs) {
    results.push({ run: await cancelLockedRun(deps, tx, events, run, reason, { event: false, stopReason }), previous: run, heldIssueLock: held.has(run.id) });
  }
  if (stopReason) await closeWaitingWakeups(tx, scope, reason, deps.clock.now());
  return results;
}

/** The wakeups of the scope still waiting for a run (queued without one, or deferred), cancelled. */
async function closeWaitingWakeups(tx: Transaction, scope: RunScope, reason: string, now: Date): Promise<void> {
  const conditions = [inArray(wakeupRequests.status, ['queued', 'deferred_issue_execution'])];
  if ('companyId' in scope) conditions.push(eq(wakeupRequests.companyId, scope.companyId));
  if (scope.agentId) conditions.push(eq(wakeupRequests.agentId, scope.agentId));
  if ('projectId' in scope && scope.projectId) {
    conditions.push(sql`(${wakeupRequests.payload}->>'issueId') in (select id::text from issues where project_id = ${scope.projectId})`);
  }
  await tx.update(wakeupRequests).set({ status: 'cancelled', error: reason, finishedAt: now, updatedAt: now }).where(and(...conditions));
}

/** Why a run that never started is stopped: a claim gate (§6.3) or a stale scheduled retry (§6.11-C). */
export interface StopBeforeStart {
  code: string;
  message: string;
  timeoutSource: 'dependency_gate' | 'stale_queued_run_gate';
  /** What its wakeup becomes: skipped (a gate) or cancelled (a stale retry). */
  wakeStatus: 'skipped' | 'cancelled';
  /** The payload of the `lifecycle` warning it records. */
  payload: Record<string, unknown>;
}

/**
 * Cancels a run that never started (queued or a scheduled retry), in the caller's transaction,
 * which holds its row: cancelled and settled at once (nothing follows it), its wakeup closed, the
 * issue lock cleared if it held it, a warning recorded; no release, promotion or agent status
 * change (Decisions 10).
 */
export async function cancelBeforeStart(tx: Transaction, events: LiveEvent[], run: RunRow, stop: StopBeforeStart, now: Date): Promise<RunRow> {
  const [cancelled] = await tx
    .update(heartbeatRuns)
    .set({
      status: 'cancelled',
      error: stop.message,
      errorCode: stop.code,
      finishedAt: now,
      settledAt: now,
      updatedAt: now,
      resultJson: { ...(run.resultJson ?? {}), ...gateStopMetadata(stop.code, stop.timeoutSource) },
    })
    .where(eq(heartbeatRuns.id, run.id))
    .returning();
  await setWakeStatus(tx, run.wakeupRequestId, stop.wakeStatus, now);
  if (run.issueId) await clearIssueLockIfHeldBy(tx, events, run.issueId, run.id, now);
  await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'warn', message: stop.message, payload: stop.payload }, now);
  events.push(runStatusEvent(cancelled));
  return cancelled;
}
