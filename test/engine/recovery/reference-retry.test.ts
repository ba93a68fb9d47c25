// The 3 "Reference retry tests" of engine-spec §10 (bounded retry scheduling, §6.12), ported with
// their reference titles. Real PostgreSQL; the engine is not started, so nothing runs by itself.
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../../db/schema.ts';
import { BOUNDED_RETRY_DELAYS_MS } from '../../../engine/rules/retry-schedule.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const runRow = (id: string) => f.db.query.heartbeatRuns.findFirst({ where: { id } });

/** A failed run (reference `seedRetryFixture`): "upstream overload", finished at `now`. */
async function failedRun(input: { agentId: string; now: Date; errorCode: string; scheduledRetryAttempt?: number; resultJson?: Record<string, unknown> }) {
  const seeded = await f.run({ agentId: input.agentId, status: 'failed', context: { wakeReason: 'issue_assigned' }, createdAt: input.now });
  const [run] = await f.db
    .update(heartbeatRuns)
    .set({
      error: 'upstream overload',
      errorCode: input.errorCode,
      finishedAt: input.now,
      updatedAt: input.now,
      scheduledRetryAttempt: input.scheduledRetryAttempt ?? 0,
      scheduledRetryReason: input.scheduledRetryAttempt ? 'transient_failure' : null,
      resultJson: input.resultJson ?? {},
    })
    .where(eq(heartbeatRuns.id, seeded.id))
    .returning();
  return run;
}

describe('heartbeat bounded retry scheduling (engine-spec §10, reference retry tests)', () => {
  // 1. §6.12: attempt 1 is due 2 min later (random 0.5 = no jitter), recorded on a durable
  // scheduled_retry row, and promotion moves it to the queued pool only once it is due.
  // Adapted: the promotion result also lists the agents to start (`agentIds`).
  it('schedules a retry with durable metadata and only promotes it when due', async () => {
    const agent = await f.agent({ name: 'CodexCoder' });
    const now = new Date('2026-04-20T12:00:00.000Z');
    const source = await failedRun({ agentId: agent.id, now, errorCode: 'adapter_failed' });

    const scheduled = await f.engine.scheduleBoundedRetry(source.id, { now, random: 0.5 });
    const dueAt = new Date(now.getTime() + BOUNDED_RETRY_DELAYS_MS[0]);
    expect(dueAt.toISOString()).toBe('2026-04-20T12:02:00.000Z');
    expect(scheduled).toMatchObject({ outcome: 'scheduled', attempt: 1, dueAt });
    if (scheduled.outcome !== 'scheduled') return;

    const retry = await runRow(scheduled.run.id);
    expect(retry).toMatchObject({
      status: 'scheduled_retry',
      retryOfRunId: source.id,
      scheduledRetryAttempt: 1,
      scheduledRetryReason: 'transient_failure',
      scheduledRetryAt: dueAt,
    });

    expect(await f.engine.promoteDueRetries(new Date('2026-04-20T12:01:59.000Z'))).toMatchObject({ promoted: 0, runIds: [] });
    expect((await runRow(retry!.id))!.status).toBe('scheduled_retry');

    expect(await f.engine.promoteDueRetries(dueAt)).toMatchObject({ promoted: 1, runIds: [retry!.id] });
    expect((await runRow(retry!.id))!.status).toBe('queued');
  });

  // 2. §6.12: after the 4th scheduled attempt there is no 5th: nothing is inserted and the source
  // run gets a "Bounded retry exhausted" event.
  it('exhausts bounded retries after the hard cap', async () => {
    const agent = await f.agent({ name: 'CodexCoder' });
    const now = new Date('2026-04-20T12:00:00.000Z');
    const source = await failedRun({ agentId: agent.id, now, errorCode: 'adapter_failed', scheduledRetryAttempt: 4, resultJson: { errorFamily: 'transient_upstream' } });

    const exhausted = await f.engine.scheduleBoundedRetry(source.id, { now, random: 0.5 });
    expect(exhausted).toEqual({ outcome: 'retry_exhausted', attempt: 5, maxAttempts: 4 });

    expect(await f.db.query.heartbeatRuns.findMany({ where: { companyId: f.companyId } })).toHaveLength(1);
    const events = await f.db.query.runEvents.findMany({ where: { runId: source.id }, orderBy: { seq: 'desc' } });
    expect(events[0].message).toContain('Bounded retry exhausted');
    expect(events[0].payload).toMatchObject({ retryReason: 'transient_failure', scheduledRetryAttempt: 4, maxAttempts: 4 });
  });

  // 3. §6.12 codex fallback: attempts 1, 2, 3, 4 retry as same_session, safer_invocation,
  // fresh_session, fresh_session_safer_invocation, in the retry's context and its wakeup payload.
  // Adapted (no codex adapter here): the fallback follows the failed run's error code
  // `codex_transient_upstream`, whose transient contract gives errorFamily `transient_upstream`.
  it('advances codex transient fallback stages across bounded retry attempts', async () => {
    const agent = await f.agent({ name: 'CodexCoder' });
    const modes = ['same_session', 'safer_invocation', 'fresh_session', 'fresh_session_safer_invocation'] as const;

    for (const [priorAttempts, mode] of modes.entries()) {
      const now = new Date(`2026-04-20T1${priorAttempts}:00:00.000Z`);
      const source = await failedRun({ agentId: agent.id, now, errorCode: 'codex_transient_upstream', scheduledRetryAttempt: priorAttempts });

      const scheduled = await f.engine.scheduleBoundedRetry(source.id, { now, random: 0.5 });
      expect(scheduled).toMatchObject({ outcome: 'scheduled', attempt: priorAttempts + 1 });
      if (scheduled.outcome !== 'scheduled') continue;

      const retry = (await runRow(scheduled.run.id))!;
      expect(retry.contextSnapshot).toMatchObject({ codexTransientFallbackMode: mode, errorFamily: 'transient_upstream', scheduledRetryAttempt: priorAttempts + 1 });
      const wake = await f.db.query.wakeupRequests.findFirst({ where: { id: retry.wakeupRequestId! } });
      expect(wake!.payload).toMatchObject({ codexTransientFallbackMode: mode, retryOfRunId: source.id, retryReason: 'transient_failure' });
    }
  });
});
