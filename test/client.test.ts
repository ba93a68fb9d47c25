import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHeartbeatClient, ViewerQuery } from '../client/index.ts';
import { encodeGlobalId } from '../schema/global-id.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('SDK', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('answers viewer over HTTP with the typed document', async () => {
    const client = createHeartbeatClient({ url: server.graphqlUrl, apiKey: server.adminKey, webSocketImpl: WebSocket });
    try {
      expect(await client.viewer()).toEqual({ id: encodeGlobalId('Company', server.companyId), name: 'Heartbeat' });
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
