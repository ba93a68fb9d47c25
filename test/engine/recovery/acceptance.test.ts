// Acceptance for retries and liveness, through the API of a real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../engine/model/clock.ts';
import { createAgent, createIssue, enqueue, GraphQLFailure, gql, rawId, runGid } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const RETRY_STATE = `query($id: ID!) { run(id: $id) { status retry { scheduledAt attempt maxAttempts reason exhaustedReason retryOf { id } retries { id } } } }`;

describe('bounded retries of a transient failure (fake clock)', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-02-01T12:00:00.000Z'));
  beforeAll(async () => {
    // No loop: the test moves time and promotes due retries itself.
    server = await startTestServer({ engine: { clock, tickIntervalMs: 0 } });
  });
  afterAll(() => server?.close());

  const db = () => server.database.db;
  const settled = (id: string) => waitFor(`run ${id} to settle`, async () => {
    const row = await db().query.heartbeatRuns.findFirst({ where: { id } });
    return row?.settledAt ? row : null;
  });
  const retryOf = (id: string) => waitFor(`a scheduled retry of ${id}`, () => db().query.heartbeatRuns.findFirst({ where: { retryOfRunId: id } }));

  it('schedules attempt 1/4 at +2 min ±25%, then walks through all four attempts to exhaustion', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ fail: { message: 'upstream 503', errorFamily: 'transient_upstream' } }] } });
    const { runId } = await enqueue(server, { agentId });
    let source = await settled(runId!);
    expect(source).toMatchObject({ status: 'failed' });

    for (let attempt = 1; attempt <= 4; attempt++) {
      const retry = await retryOf(source.id);
      const { run } = await gql(server, RETRY_STATE, { id: runGid(retry.id) });
      expect(run.status).toBe('SCHEDULED_RETRY');
      expect(run.retry).toMatchObject({ attempt, maxAttempts: 4, reason: 'transient_failure', retryOf: { id: runGid(source.id) } });
      const base = [120_000, 600_000, 1_800_000, 7_200_000][attempt - 1];
      const delay = new Date(run.retry.scheduledAt).getTime() - clock.now().getTime();
      expect(delay).toBeGreaterThanOrEqual(base * 0.75);
      expect(delay).toBeLessThanOrEqual(base * 1.25);
      // Not due yet: nothing moves.
      clock.advance(delay - 1_000);
      expect((await server.app.engine.promoteDueRetries()).promoted).toBe(0);
      clock.advance(1_000);
      expect((await server.app.engine.promoteDueRetries()).runIds).toEqual([retry.id]);
      source = await settled(retry.id);
      expect(source.status).toBe('failed');
    }
    // The fourth retry failed too: no fifth, and the reason says so.
    const { run } = await gql(server, RETRY_STATE, { id: runGid(source.id) });
    expect(run.retry).toMatchObject({ attempt: 4, retries: [], exhaustedReason: 'Bounded retry exhausted after 4 scheduled attempts; no further automatic retry will be queued' });
    expect(await db().query.heartbeatRuns.findMany({ where: { agentId } })).toHaveLength(5);
  });

  it('retryRun re-queues a failed run for an operator and refuses one that is not finished', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ exit: 2 }] } });
    const { runId } = await enqueue(server, { agentId });
    await settled(runId!);
    const data = await gql(server, `mutation($id: ID!) { retryRun(id: $id) { outcome run { id retry { retryOf { id } } } } }`, { id: runGid(runId!) });
    expect(data.retryRun).toMatchObject({ outcome: 'QUEUED', run: { retry: { retryOf: { id: runGid(runId!) } } } });
    const queued = rawId(data.retryRun.run.id);
    await settled(queued);
    const busy = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const running = await enqueue(server, { agentId: busy });
    const refused = await gql(server, `mutation($id: ID!) { retryRun(id: $id) { outcome } }`, { id: runGid(running.runId!) }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GraphQLFailure);
    expect((refused as GraphQLFailure).code).toBe('CONFLICT');
    await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: runGid(running.runId!) });
  });
});

describe('liveness', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());
  const db = () => server.database.db;

  it('a run that only states an intention ends plan_only and queues one continuation; continuations stop after two', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ result: {}, summary: 'I will inspect the failing test next' }] } });
    const { issueId, wakeup } = await createIssue(server, { title: 'Fix the flaky test', assigneeAgentId: agentId });
    const firstId = rawId(wakeup!.run!.id);
    const first = await waitFor('the first run to settle', async () => {
      const row = await db().query.heartbeatRuns.findFirst({ where: { id: firstId } });
      return row?.settledAt ? row : null;
    });
    expect(first).toMatchObject({ status: 'succeeded', livenessState: 'plan_only', nextAction: 'I will inspect the failing test next' });
    const continuation = await db().query.wakeupRequests.findFirst({ where: { agentId, reason: 'run_liveness_continuation' }, orderBy: { createdAt: 'asc' } });
    expect(continuation!.payload).toMatchObject({ issueId, livenessState: 'plan_only', continuationAttempt: 1, sourceRunId: firstId, maxContinuationAttempts: 2 });

    // The same agent keeps only talking: two continuations, then a comment for a person.
    const exhausted = await waitFor('continuations to be exhausted', async () =>
      db().query.issueComments.findFirst({ where: { issueId, body: { like: 'Bounded liveness continuation exhausted%' } } }),
    );
    expect(exhausted!.body).toContain('Attempts used: 2/2');
    const runs = await db().query.heartbeatRuns.findMany({ where: { issueId }, orderBy: { createdAt: 'asc' } });
    expect(runs.map((r) => [r.livenessState, r.continuationAttempt])).toEqual([['plan_only', 0], ['plan_only', 1], ['plan_only', 2]]);
    expect(runs[2].livenessReason).toMatch(/continuation attempts exhausted$/);
  });

  it('a run that writes a plan document ends advanced, with no continuation', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ document: { key: 'plan', body: '1. Reproduce\n2. Fix' } }] } });
    const { issueId, wakeup } = await createIssue(server, { title: 'Plan the migration', assigneeAgentId: agentId });
    const run = await waitFor('the run to settle', async () => {
      const row = await db().query.heartbeatRuns.findFirst({ where: { id: rawId(wakeup!.run!.id) } });
      return row?.settledAt ? row : null;
    });
    expect(run.livenessState).toBe('advanced');
    expect(run.lastUsefulActionAt).not.toBeNull();
    expect(await db().query.wakeupRequests.findFirst({ where: { agentId, reason: 'run_liveness_continuation' } })).toBeUndefined();
    expect(issueId).toBeDefined();
  });
});
