// Idempotency keys (Decisions 5) never end in an internal error: a blank key is refused up front,
// and concurrent requests with one key get the first request back whichever path wrote it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, GraphQLFailure } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('idempotency keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const wakeups = (agentId: string) => server.database.db.query.wakeupRequests.findMany({ where: { agentId } });

  it.each(['', '   '])('a blank key (%j) is BAD_USER_INPUT every time and writes nothing', async (key) => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [] } });
    for (let i = 0; i < 2; i++) {
      const error = await enqueue(server, { agentId, idempotencyKey: key }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphQLFailure);
      expect((error as GraphQLFailure).code).toBe('BAD_USER_INPUT');
      expect((error as GraphQLFailure).errors[0].extensions).toMatchObject({ field: 'idempotencyKey' });
    }
    expect(await wakeups(agentId)).toEqual([]);
  });

  it('concurrent requests with one key that a policy gate skips: one SKIPPED, the rest DUPLICATE', async () => {
    // Skipped wakeups are written outside the queued-run paths; they meet the unique index too.
    const agentId = await createAgent(server, { adapterConfig: { steps: [] }, heartbeat: { wakeOnDemand: false } });
    const results = await Promise.all(Array.from({ length: 8 }, () => enqueue(server, { agentId, idempotencyKey: 'gate-key' })));
    const outcomes = results.map((r) => r.outcome).sort();
    expect(outcomes).toEqual(['DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'DUPLICATE', 'SKIPPED']);
    expect(new Set(results.map((r) => r.wakeupRequest.id)).size).toBe(1);
    expect(await wakeups(agentId)).toHaveLength(1);
  });

  it('concurrent requests with one key that queue a run: one QUEUED, the rest DUPLICATE of it', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [] } });
    const results = await Promise.all(Array.from({ length: 8 }, () => enqueue(server, { agentId, idempotencyKey: 'run-key' })));
    expect(results.filter((r) => r.outcome === 'QUEUED')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'DUPLICATE')).toHaveLength(7);
    expect(new Set(results.map((r) => r.runId)).size).toBe(1);
  });
});
