import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHeartbeatClient, ViewerQuery } from '../client/index.ts';
import { encodeGlobalId } from '../schema/global-id.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { waitFor } from './support/wait.ts';

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
});
