import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHeartbeatClient, ViewerQuery } from '../../client/index.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { createAgent, enqueue, runGid } from '../support/api.ts';
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
