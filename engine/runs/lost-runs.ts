// The writes of process loss (docs/engine.md §6.11): a lost run failed as `process_lost` with its
// one retry queued, a run whose process lives on without its handle flagged detached, and the flag
// cleared when it shows signs of life. recovery/reaper.ts and recovery/process-loss.ts find the
// runs and decide; these write them.
import { and, eq, inArray } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { agents, heartbeatRuns } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { appendRunEvent, appendRunEvents, type EventGroup } from './events.ts';
import { handIssueLockToRetry } from './issue-lock.ts';
import { type RunRow, runQueuedEvent, runStatusEvent } from '../model/runs.ts';
import { settleRun } from './settle.ts';
import { finishLockedRuns, type RunFinish } from './finish.ts';
import { collectEvidence, runEvidence } from './liveness-evidence.ts';
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
    const cleared = await clearDetachedFlag(tx, events, runId, deps.clock.now());
    return cleared ?? (await tx.query.heartbeatRuns.findFirst({ where: { id: runId } })) ?? null;
  });
}

/**
 * reportRunActivity's write, in the caller's transaction (a run's comment or document carries it):
 * one guarded statement, which changes nothing unless the run was flagged detached. Returns the
 * run when it cleared the flag.
 */
export async function clearDetachedFlag(tx: Transaction, events: LiveEvent[], runId: string, now: Date): Promise<RunRow | null> {
  const [cleared] = await tx
    .update(heartbeatRuns)
    .set({ error: null, errorCode: null, updatedAt: now })
    .where(and(eq(heartbeatRuns.id, runId), eq(heartbeatRuns.status, 'running'), eq(heartbeatRuns.errorCode, 'process_detached')))
    .returning();
  if (!cleared) return null;
  await appendRunEvent(tx, events, { runId, eventType: 'lifecycle', level: 'info', message: 'Run reported activity again; the detached warning is cleared' }, now);
  events.push(runStatusEvent(cleared));
  return cleared;
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
 * Fails lost runs and, where allowed, queues each one's retry (§6.11-A/B), all in one transaction:
 * the runs still running are locked (one another instance holds is left to it), each one's retry is
 * queued holding its issue's lock, and the runs are finished by the one finish (finish.ts
 * finishLockedRuns: `process_lost`, liveness, wakeup, an event saying what was lost and the retry,
 * the agent's status and counters); a retried run has nothing left to follow it and is settled; the
 * others are the reaper's to follow up (it becomes their owner).
 * Per item: null when another instance got there first. Called with one item when a set fails.
 */
export async function failLostRuns(deps: EngineDeps, items: LostRunItem[]): Promise<Array<{ failed: RunRow; retry: RunRow | null } | null>> {
  const firstHeartbeats: Array<{ agentId: string; agentRole: string }> = [];
  const results = await transact(deps, async (tx, events) => {
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
    const agentById = new Map(
      (await tx.select({ id: agents.id, adapterType: agents.adapterType, adapterConfig: agents.adapterConfig }).from(agents).where(inArray(agents.id, agentIds))).map(
        (agent) => [agent.id, agent],
      ),
    );
    const byId = new Map(items.map((item) => [item.candidate.run.id, item]));
    // The retries first, so that each lost run's event can name its retry.
    const retried = locked.filter((run) => byId.get(run.id)!.lost.retry);
    const retries = await queueProcessLossRetries(tx, events, retried.map((run) => ({ lost: run, agentName: byId.get(run.id)!.candidate.agentName })), now);
    const retryOf = new Map(retries.map((retry) => [retry.retryOfRunId!, retry]));
    const evidence = collectEvidence(await runEvidence(tx, locked));
    const finishes: RunFinish[] = locked.map((run) => {
      const { lost } = byId.get(run.id)!;
      const retry = retryOf.get(run.id) ?? null;
      return {
        runId: run.id,
        agent: agentById.get(run.agentId) ?? { id: run.agentId, adapterType: 'script' as const, adapterConfig: {} },
        result: { exitCode: null, errorMessage: lost.message, errorCode: 'process_lost' },
        output: null,
        crashed: false,
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
    const answers = await finishLockedRuns(tx, events, finishes, new Map(locked.map((run) => [run.id, run])), evidence, { now, missing: 'gone', firstHeartbeats });
    const results = new Map<string, { failed: RunRow; retry: RunRow | null }>();
    for (const answer of answers) if (answer.kind === 'finished') results.set(answer.run.id, { failed: answer.run, retry: retryOf.get(answer.run.id) ?? null });
    // A run failed without a retry still has its follow-up to come (the reaper releases its issue,
    // then settles it): the reaper owns it from now on, so that no other instance takes that
    // follow-up over while it writes it, and one does if the reaper dies first (§6.11-K).
    const self = deps.settings.instanceId;
    const owed = answers.flatMap((answer) => (answer.kind === 'finished' && answer.followUp && !retryOf.has(answer.run.id) && answer.run.ownerInstanceId !== self ? [answer.run.id] : []));
    if (owed.length > 0) {
      await tx.update(heartbeatRuns).set({ ownerInstanceId: self, updatedAt: now }).where(inArray(heartbeatRuns.id, owed));
      for (const id of owed) results.get(id)!.failed.ownerInstanceId = self;
    }
    // A retried run has nothing left to follow it (its retry holds what it held): it settles now.
    for (const run of await settleRun(tx, events, retries.map((retry) => retry.retryOfRunId!), now)) {
      const result = results.get(run.id)!;
      results.set(run.id, { ...result, failed: { ...result.failed, ...run } });
    }
    return items.map((item) => results.get(item.candidate.run.id) ?? null);
  });
  for (const hook of firstHeartbeats) deps.onFirstHeartbeat?.(hook);
  return results;
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
