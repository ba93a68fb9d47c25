// retryRun is an operator saying "now": when the failed run already has an automatic retry
// scheduled minutes ahead, the manual retry promotes that retry to run at once (and says so in a
// lifecycle event) instead of merging into it and waiting for its slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createIssue, enqueue, gql, rawId, runFinished, runGid } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

// Some work, then a transient failure. The work keeps the promoted run from ending (and scheduling
// the next retry) before the manual retry's wakeup has joined it, so the test knows which run that is.
const TRANSIENT = { steps: [{ sleepMs: 300 }, { fail: { message: 'upstream overloaded', errorFamily: 'transient_upstream' } }] };

describe('manual retry of a run with a scheduled retry', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const scheduledRetryOf = (runId: string) =>
    waitFor(`the scheduled retry of ${runId}`, () =>
      server.database.db.query.heartbeatRuns.findFirst({ where: { retryOfRunId: runId, status: 'scheduled_retry' } }),
    );

  async function retryNow(failedId: string) {
    const failed = await runFinished(server, failedId);
    expect(failed.status).toBe('failed');
    const scheduled = await scheduledRetryOf(failedId);
    // Minutes away: without the promotion, the operator's retry would wait that long.
    expect(scheduled.scheduledRetryAt!.getTime() - Date.now()).toBeGreaterThan(60_000);

    const { retryRun } = await gql(server, 'mutation($id: ID!) { retryRun(id: $id) { outcome run { id status } } }', { id: runGid(failedId) });
    expect(retryRun.outcome).toBe('COALESCED');
    expect(rawId(retryRun.run.id)).toBe(scheduled.id);
    expect(retryRun.run.status).not.toBe('SCHEDULED_RETRY');
    // It runs now (and fails again, transiently: the test adapter always does).
    const promoted = await runFinished(server, scheduled.id);
    expect(promoted.status).toBe('failed');
    const events = await server.database.db.query.runEvents.findMany({ where: { runId: scheduled.id, eventType: 'lifecycle' } });
    expect(events.map((e) => e.message)).toContainEqual(expect.stringContaining('promoted to the queued run pool by a manual retry'));
    // The bounded-retry budget goes on where it was: the next automatic retry is attempt 2.
    expect((await scheduledRetryOf(scheduled.id)).scheduledRetryAttempt).toBe(2);
  }

  it('without an issue', async () => {
    const agentId = await createAgent(server, { adapterConfig: TRANSIENT });
    const { runId } = await enqueue(server, { agentId, reason: 'work' });
    await retryNow(runId!);
  });

  it('on an issue, whose execution lock the scheduled retry holds', async () => {
    const agentId = await createAgent(server, { adapterConfig: TRANSIENT });
    const { wakeup } = await createIssue(server, { assigneeAgentId: agentId });
    await retryNow(rawId(wakeup!.run!.id));
  });
});
