// insertSystemWakeup: the wakeup request and run the engine writes when it wakes an agent on its
// own account (retries, recoveries), linked both ways. Real PostgreSQL; the engine is not started.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertSystemWakeup } from '../../../engine/runs/system-wakeups.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

describe('insertSystemWakeup', () => {
  it('writes a queued system wakeup and its run, each pointing at the other', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const source = await f.run({ agentId: agent.id, issueId: issue.id, status: 'failed' });
    const now = new Date('2026-02-03T04:05:06.000Z');

    const run = await f.db.transaction((tx) =>
      insertSystemWakeup(tx, {
        companyId: f.companyId,
        agentId: agent.id,
        issueId: issue.id,
        reason: 'process_lost_retry',
        payload: { issueId: issue.id, retryOfRunId: source.id },
        run: { status: 'queued', contextSnapshot: { wakeReason: 'process_lost_retry' }, retryOfRunId: source.id, processLossRetryCount: 1 },
        now,
      }),
    );

    const wake = await f.db.query.wakeupRequests.findFirst({ where: { id: run.wakeupRequestId! } });
    expect(wake).toMatchObject({
      companyId: f.companyId,
      agentId: agent.id,
      source: 'automation',
      triggerDetail: 'system',
      reason: 'process_lost_retry',
      payload: { issueId: issue.id, retryOfRunId: source.id },
      status: 'queued',
      requestedByActorType: 'system',
      requestedByActorId: 'heartbeat',
      requestedAt: now,
      runId: run.id,
    });
    expect(await f.db.query.heartbeatRuns.findFirst({ where: { id: run.id } })).toMatchObject({
      companyId: f.companyId,
      agentId: agent.id,
      issueId: issue.id,
      invocationSource: 'automation',
      triggerDetail: 'system',
      status: 'queued',
      contextSnapshot: { wakeReason: 'process_lost_retry' },
      retryOfRunId: source.id,
      processLossRetryCount: 1,
      // Columns the caller leaves out keep their defaults.
      scheduledRetryAttempt: 0,
      scheduledRetryAt: null,
      continuationAttempt: 0,
      createdAt: now,
      updatedAt: now,
    });
  });

  it('writes a scheduled retry with its schedule', async () => {
    const agent = await f.agent();
    const source = await f.run({ agentId: agent.id, status: 'failed' });
    const now = new Date('2026-02-03T04:05:06.000Z');
    const dueAt = new Date('2026-02-03T04:07:06.000Z');

    const run = await f.db.transaction((tx) =>
      insertSystemWakeup(tx, {
        companyId: f.companyId,
        agentId: agent.id,
        issueId: null,
        reason: 'transient_failure_retry',
        payload: { retryOfRunId: source.id },
        run: {
          status: 'scheduled_retry',
          contextSnapshot: {},
          retryOfRunId: source.id,
          scheduledRetryAt: dueAt,
          scheduledRetryAttempt: 1,
          scheduledRetryReason: 'transient_failure',
          continuationAttempt: 2,
        },
        now,
      }),
    );

    expect(run).toMatchObject({ status: 'scheduled_retry', issueId: null, scheduledRetryAt: dueAt, scheduledRetryAttempt: 1, scheduledRetryReason: 'transient_failure', continuationAttempt: 2 });
    expect(await f.db.query.wakeupRequests.findFirst({ where: { id: run.wakeupRequestId! } })).toMatchObject({ status: 'queued', runId: run.id });
  });
});
