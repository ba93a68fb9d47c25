// Bounded transient retry (spec §6.12): a run that failed for a transient reason gets a new run in
// `scheduled_retry`, due after 2 min, 10 min, 30 min, 2 h (±25%), at most four times; the
// promotion loop moves due retries into the queued pool.
import { and, asc, eq, lte } from 'drizzle-orm';
import { heartbeatRuns, issues } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { BOUNDED_RETRY_MAX_ATTEMPTS, boundedRetrySchedule, codexFallbackMode, dueAtWithNotBefore, transientContract } from '../rules/retry-schedule.ts';
import { appendRunEvent } from '../runs/events.ts';
import { handIssueLockToRetry } from '../runs/issue-lock.ts';
import { type RunRow, runStatusEvent } from '../model/runs.ts';
import { cancelStaleScheduledRetry, staleRetryReason } from './stale-retry.ts';
import { promoteScheduledRetry } from '../runs/queue.ts';
import { insertSystemWakeup } from '../runs/system-wakeups.ts';

export type BoundedRetryOutcome =
  | { outcome: 'scheduled'; run: RunRow; dueAt: Date; attempt: number; maxAttempts: number }
  | { outcome: 'retry_exhausted'; attempt: number; maxAttempts: number }
  | { outcome: 'missing_run' | 'missing_agent' | 'not_transient' }
  /** As a follow-up step (`followUpOf`): the run is settled, or its follow-up is another instance's (§6.11-K). */
  | { outcome: 'not_owner' };

export interface ScheduleOptions {
  now?: Date;
  random?: number;
  retryReason?: string;
  wakeReason?: string;
  /**
   * The step of a finished run's follow-up (§6.4 step 8.2), by this instance: scheduled only while
   * the run is unsettled and owned by it, checked under the run's lock, so that an owner whose run
   * was taken over (§6.11-K) does not schedule a second retry beside the instance that took it.
   */
  followUpOf?: string;
}

export async function scheduleBoundedRetry(deps: EngineDeps, runId: string, options: ScheduleOptions = {}): Promise<BoundedRetryOutcome> {
  const now = options.now ?? deps.clock.now();
  const random = options.random ?? Math.random();
  const retryReason = options.retryReason ?? 'transient_failure';
  const wakeReason = options.wakeReason ?? 'transient_failure_retry';
  return transact(deps, async (tx, events) => {
    const [source] = await tx.select().from(heartbeatRuns).where(eq(heartbeatRuns.id, runId)).for('update');
    if (!source) return { outcome: 'missing_run' };
    if (options.followUpOf !== undefined && (source.settledAt !== null || source.ownerInstanceId !== options.followUpOf)) return { outcome: 'not_owner' };
    const agent = await tx.query.agents.findFirst({ where: { id: source.agentId } });
    if (!agent) return { outcome: 'missing_agent' };
    const attempt = source.scheduledRetryAttempt + 1;
    const schedule = boundedRetrySchedule(attempt, now, random);
    if (!schedule) {
      await appendRunEvent(
        tx,
        events,
        {
          runId,
          eventType: 'lifecycle',
          level: 'warn',
          message: `Bounded retry exhausted after ${source.scheduledRetryAttempt} scheduled attempts; no further automatic retry will be queued`,
          payload: { retryReason, scheduledRetryAttempt: source.scheduledRetryAttempt, maxAttempts: BOUNDED_RETRY_MAX_ATTEMPTS },
        },
        now,
      );
      // The exhausted reason is part of the run's retry state: subscribers hear of it.
      events.push(runStatusEvent(source));
      return { outcome: 'retry_exhausted', attempt, maxAttempts: BOUNDED_RETRY_MAX_ATTEMPTS };
    }
    // The transient contract (error family, not-before time) only applies to transient failures.
    const contract = retryReason === 'transient_failure' ? transientContract(source) : null;
    const dueAt = contract ? dueAtWithNotBefore(schedule, contract.retryNotBefore) : schedule.dueAt;
    const fallbackMode = contract && source.errorCode === 'codex_transient_upstream' ? codexFallbackMode(attempt) : null;
    const retryKeys = {
      ...(source.issueId ? { issueId: source.issueId } : {}),
      retryOfRunId: source.id,
      retryReason,
      ...(contract ? { errorFamily: contract.errorFamily } : {}),
      scheduledRetryAttempt: attempt,
      scheduledRetryAt: dueAt.toISOString(),
      ...(contract?.retryNotBefore ? { transientRetryNotBefore: contract.retryNotBefore } : {}),
      ...(fallbackMode ? { codexTransientFallbackMode: fallbackMode } : {}),
    };
    const retry = await insertSystemWakeup(tx, {
      companyId: source.companyId,
      agentId: source.agentId,
      issueId: source.issueId,
      reason: wakeReason,
      payload: retryKeys,
      run: {
        status: 'scheduled_retry',
        contextSnapshot: { ...source.contextSnapshot, ...retryKeys, wakeReason },
        scheduledRetryAt: dueAt,
        scheduledRetryAttempt: attempt,
        scheduledRetryReason: retryReason,
        retryOfRunId: source.id,
        continuationAttempt: source.continuationAttempt,
      },
      now,
    });
    await handIssueLockToRetry(tx, events, retry, agent.name, now);
    await appendRunEvent(
      tx,
      events,
      {
        runId: source.id,
        eventType: 'lifecycle',
        level: 'warn',
        message: `Scheduled bounded retry ${attempt}/${BOUNDED_RETRY_MAX_ATTEMPTS} for ${dueAt.toISOString()}`,
        payload: { retryRunId: retry.id, baseDelayMs: schedule.baseDelayMs, delayMs: dueAt.getTime() - now.getTime() },
      },
      now,
    );
    // Decisions 8: the scheduled retry is a run status change subscribers want to see.
    events.push(runStatusEvent(retry), runStatusEvent(source));
    return { outcome: 'scheduled', run: retry, dueAt, attempt, maxAttempts: BOUNDED_RETRY_MAX_ATTEMPTS };
  });
}

const PROMOTE_BATCH = 50;

/** Due scheduled retries become queued (or are cancelled when their issue moved on). Starts nothing. */
export async function promoteDueScheduledRetries(deps: EngineDeps, now: Date = deps.clock.now()): Promise<{ promoted: number; runIds: string[]; agentIds: string[] }> {
  return transact(deps, async (tx, events) => {
    const due = await tx
      .select()
      .from(heartbeatRuns)
      .where(and(eq(heartbeatRuns.status, 'scheduled_retry'), lte(heartbeatRuns.scheduledRetryAt, now)))
      .orderBy(asc(heartbeatRuns.scheduledRetryAt), asc(heartbeatRuns.createdAt), asc(heartbeatRuns.id))
      .limit(PROMOTE_BATCH)
      .for('update', { skipLocked: true });
    const runIds: string[] = [];
    const agentIds = new Set<string>();
    for (const run of due) {
      if (run.issueId) {
        const [issue] = await tx.select().from(issues).where(eq(issues.id, run.issueId)).for('update');
        const stale = issue ? staleRetryReason(run, issue) : null;
        if (issue && stale) {
          await cancelStaleScheduledRetry(tx, events, run, issue, stale, now);
          continue;
        }
      }
      const queued = await promoteScheduledRetry(tx, events, run.id, now, { message: 'Scheduled retry became due and was promoted to the queued run pool' });
      if (!queued) continue;
      runIds.push(run.id);
      agentIds.add(run.agentId);
    }
    return { promoted: runIds.length, runIds, agentIds: [...agentIds] };
  });
}
