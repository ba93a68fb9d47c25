import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHeartbeatClient, HeartbeatApiError, ViewerQuery } from '../../client/index.ts';
import { costEvents, heartbeatRuns } from '../../db/schema.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { agentGid, createAgent, enqueue, runGid } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

describe('SDK', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('answers viewer over HTTP with the typed document', async () => {
    const client = createHeartbeatClient({ url: server.graphqlUrl, apiKey: server.adminKey, webSocketImpl: WebSocket });
    try {
      expect(await client.viewer()).toEqual({ id: encodeGlobalId('Company', server.companyId), name: 'Heartbeat', role: 'ADMIN' });
    } finally {
      await client.close();
    }
  });

  it('reports a bad key as an UNAUTHENTICATED error', async () => {
    const client = createHeartbeatClient({ url: server.graphqlUrl, apiKey: 'hb_not_a_real_key_not_a_real_key', webSocketImpl: WebSocket });
    try {
      const result = await client.urql.query(ViewerQuery, {}).toPromise();
      expect(result.error?.graphQLErrors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    } finally {
      await client.close();
    }
  });

  it('projects, costSummary, spend and budgets; a spent budget refuses a wake with BUDGET_EXCEEDED and its details', async () => {
    const client = createHeartbeatClient({ url: server.graphqlUrl, apiKey: server.adminKey, webSocketImpl: WebSocket });
    try {
      const project = await client.createProject('SDK project');
      expect((await client.projects()).map((p) => [p.id, p.name, p.issues.totalCount])).toEqual([[project.id, 'SDK project', 0]]);

      const agentId = await createAgent(server, { name: 'sdk-spender' });
      const [run] = await server.database.db.insert(heartbeatRuns).values({ companyId: server.companyId, agentId, status: 'succeeded' }).returning({ id: heartbeatRuns.id });
      await server.database.db.insert(costEvents).values({ companyId: server.companyId, runId: run.id, agentId, biller: 'openai', billingType: 'credits', costCents: 250, outputTokens: 9, occurredAt: new Date() });
      expect(await client.costSummary({ groupBy: ['AGENT'] })).toEqual([expect.objectContaining({ agent: { id: agentGid(agentId), name: 'sdk-spender' }, costCents: 250, outputTokens: 9, runs: 1 })]);
      const spend = await client.spend(new Date(Date.now() - 86_400_000));
      expect(spend).toEqual({ byAgent: [{ agent: { id: agentGid(agentId), name: 'sdk-spender' }, costCents: 250, runs: 1 }], byDay: [{ day: new Date().toISOString().slice(0, 10), costCents: 250, runs: 1 }] });

      const budget = await client.setBudget({ scope: 'AGENT', scopeId: agentGid(agentId), period: 'MONTH', limitCents: 200 });
      expect(budget).toMatchObject({ scopeId: agentGid(agentId), spentCents: 250, status: 'BLOCKED' });
      expect(await client.budgets()).toEqual([budget]);
      const refused = await client.wake({ agentId: agentGid(agentId) }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(HeartbeatApiError);
      expect((refused as HeartbeatApiError).code).toBe('BUDGET_EXCEEDED');
      expect((refused as HeartbeatApiError).details).toMatchObject({ budgetId: budget.id, scope: 'agent', scopeId: agentGid(agentId), spentCents: 250, limitCents: 200 });
      expect(await client.deleteBudget(budget.id)).toBe(true);
      expect(await client.budgets()).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('SDK watches', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('an aborted watch unsubscribes at once, even while nothing happens', async () => {
    const client = createHeartbeatClient({ url: server.graphqlUrl, apiKey: server.adminKey, webSocketImpl: WebSocket });
    try {
      const controller = new AbortController();
      const watching = (async () => {
        for await (const _run of client.watchRunStatus({ signal: controller.signal })) {
          // nothing happens in this company
        }
      })();
      await waitFor('the subscription', () => server.app.hub.size === 1);
      controller.abort();
      await watching;
      await waitFor('the server to let go', () => server.app.hub.size === 0);
    } finally {
      await client.close();
    }
  });

  it('watchRunEvents resumes after its connection drops: every event once, in order, reconnecting on the given schedule', async () => {
    const sockets: WebSocket[] = [];
    class RecordedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
    }
    const waits: number[] = [];
    const client = createHeartbeatClient({
      url: server.graphqlUrl,
      apiKey: server.adminKey,
      webSocketImpl: RecordedWebSocket,
      reconnectDelayMs: (retries) => (waits.push(retries), 10),
    });
    try {
      const step = (message: string) => ({ event: { type: 'tool.call', message } });
      const agentId = await createAgent(server, { adapterConfig: { steps: [step('a'), { sleepMs: 200 }, step('b'), { sleepMs: 200 }, step('c')] } });
      const { runId } = await enqueue(server, { agentId });
      const seen: Array<{ seq: number; message: string | null }> = [];
      for await (const event of client.watchRunEvents(runGid(runId!))) {
        seen.push({ seq: event.seq, message: event.message ?? null });
        if (event.message === 'a' && sockets.length === 1) sockets[0].terminate(); // dropped, not closed
      }
      expect(sockets.length).toBeGreaterThanOrEqual(2);
      expect(waits[0]).toBe(0);
      expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
      expect(seen.map((e) => e.message)).toEqual(expect.arrayContaining(['a', 'b', 'c']));
      const stored = await server.database.db.query.runEvents.findMany({ where: { runId: runId! } });
      expect(seen).toHaveLength(stored.length);
    } finally {
      await client.close();
    }
  });
});
