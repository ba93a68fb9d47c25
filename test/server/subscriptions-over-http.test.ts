// Subscriptions are served over WebSocket only (the documented contract). Over HTTP (server-sent
// events) they are refused with a typed error, so no stream can outlive a revoked key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('subscriptions over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const sse = (query: string, init: { method?: string } = {}) => {
    const body = JSON.stringify({ query });
    return init.method === 'GET'
      ? fetch(`${server.graphqlUrl}?${new URLSearchParams({ query })}`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${server.adminKey}` } })
      : fetch(server.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${server.adminKey}` },
          body,
        });
  };

  it('refuses a subscription over SSE (POST and GET) with BAD_REQUEST, and the stream ends at once', async () => {
    for (const method of ['POST', 'GET']) {
      const response = await sse('subscription { runStatus { id status } }', { method });
      // The whole body arrives: the server ended the stream instead of keeping it open.
      const text = await response.text();
      expect(response.status, method).toBe(400);
      expect(text, method).toMatch(/"code":"BAD_REQUEST"/);
      expect(text, method).toMatch(/WebSocket only/);
    }
  });

  it('still answers queries to a client that accepts only event streams', async () => {
    const response = await sse('{ viewer { name } }');
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/"viewer":\{"name":"Heartbeat"\}/);
  });
});
