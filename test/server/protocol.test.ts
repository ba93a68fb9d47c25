// Conformance with GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/) and with
// graphql-ws' graphql-transport-ws protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md),
// driven by raw requests and a raw WebSocket so that every status, header and frame is visible.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { issues } from '../../db/schema.ts';
import { agentGid, createAgent, enqueue, runFinished, runGid } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { type Message, openAcked, openRaw } from '../support/raw-ws.ts';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

describe('GraphQL over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const auth = () => ({ authorization: `Bearer ${server.adminKey}` });
  const get = (params: Record<string, string>, accept = GRAPHQL_RESPONSE) =>
    fetch(`${server.graphqlUrl}?${new URLSearchParams(params)}`, { headers: { ...auth(), accept } });
  const post = (body: string, { accept = GRAPHQL_RESPONSE, contentType = 'application/json' } = {}) =>
    fetch(server.graphqlUrl, { method: 'POST', headers: { ...auth(), accept, 'content-type': contentType }, body });
  const json = async (response: Response) => (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };

  it('GET runs a query with query and variables in the URL', async () => {
    const response = await get({
      query: 'query Agents($n: Int) { viewer { name } agents(first: $n) { edges { cursor } } }',
      variables: JSON.stringify({ n: 2 }),
      operationName: 'Agents',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(await json(response)).toEqual({ data: { viewer: { name: 'Heartbeat' }, agents: { edges: [] } } });
  });

  it('GET refuses a mutation with 405 and runs nothing', async () => {
    const before = await server.database.db.$count(issues);
    const response = await get({ query: 'mutation { createIssue(input: { title: "over GET" }) { issue { id } } }' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toMatch(/POST/);
    const body = await json(response);
    expect(body.errors?.[0].extensions?.code).toBeDefined();
    expect(body.data ?? null).toBeNull();
    expect(await server.database.db.$count(issues)).toBe(before);
  });

  it('POST accepting graphql-response+json gets that content type: 400 for parse and validation failures', async () => {
    for (const [query, code] of [
      ['{ viewer { name ', 'GRAPHQL_PARSE_FAILED'],
      ['{ viewer { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['query($id: ID!) { agent(id: $id) { id } }', 'BAD_REQUEST'], // missing required variable
    ] as const) {
      const response = await post(JSON.stringify({ query }));
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      const body = await json(response);
      expect(body.errors?.[0].extensions?.code, query).toBe(code);
      expect('data' in body, query).toBe(false); // a request error has no data entry
    }
  });

  it('POST accepting graphql-response+json: 200 for execution errors that come with data', async () => {
    const response = await post(JSON.stringify({ query: '{ viewer { name } agent(id: "garbage") { id } }' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    const body = await json(response);
    expect(body.data).toEqual({ viewer: { name: 'Heartbeat' }, agent: null });
    expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('POST accepting application/json gets 200 with errors for validation failures (legacy watershed)', async () => {
    const response = await post(JSON.stringify({ query: '{ viewer { nope } }' }), { accept: 'application/json' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await json(response)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('an operation limit is a validation failure: 400 for graphql-response+json, 200 for application/json', async () => {
    const aliases = `{ ${Array.from({ length: 21 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`;
    const strict = await post(JSON.stringify({ query: aliases }));
    expect(strict.status).toBe(400);
    expect((await json(strict)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const legacy = await post(JSON.stringify({ query: aliases }), { accept: 'application/json' });
    expect(legacy.status).toBe(200);
    expect((await json(legacy)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('an unsupported accept header gets 406', async () => {
    const response = await post(JSON.stringify({ query: '{ viewer { name } }' }), { accept: 'text/xml' });
    expect(response.status).toBe(406);
  });

  it('an unsupported content type gets 415', async () => {
    for (const contentType of ['text/xml', 'text/plain', 'application/octet-stream']) {
      const response = await post(JSON.stringify({ query: '{ viewer { name } }' }), { contentType });
      expect(response.status, contentType).toBe(415);
    }
  });

  it('a request without a query gets 400 with BAD_REQUEST', async () => {
    for (const body of ['{}', '{"variables":{}}', '{"query":null}']) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      expect((await json(response)).errors?.[0].extensions?.code, body).toBe('BAD_REQUEST');
    }
    const response = await get({});
    expect(response.status).toBe(400);
  });

  it('malformed JSON gets 400 with BAD_REQUEST', async () => {
    for (const body of ['{"query":', 'not json', '{"query": "{ viewer { name } }",}']) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      expect((await json(response)).errors?.[0].extensions?.code, body).toBe('BAD_REQUEST');
    }
  });
});

describe('graphql-transport-ws', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const forId = (id: string) => (m: Message) => m.id === id;

  it('closes a socket that sends no connection_init within the wait timeout with 4408', async () => {
    const socket = await openRaw(server.wsUrl);
    const opened = Date.now();
    // graphql-ws' default connectionInitWaitTimeout is 3 s; the deadline leaves room for a slow machine.
    const { code } = await Promise.race([
      socket.closed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still open 10 s later')), 10_000)),
    ]);
    expect(code).toBe(4408);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(2_500);
    expect(socket.messages).toEqual([]);
  });

  it('closes a socket that sends a second connection_init with 4429', async () => {
    const socket = await openAcked(server.wsUrl, server.adminKey);
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${server.adminKey}` } });
    expect((await socket.closed).code).toBe(4429);
  });

  it('closes a socket that subscribes before connection_ack with 4401', async () => {
    const socket = await openRaw(server.wsUrl);
    socket.send({ id: '1', type: 'subscribe', payload: { query: '{ viewer { name } }' } });
    expect((await socket.closed).code).toBe(4401);
    expect(socket.messages).toEqual([]);
  });

  it('closes a socket that reuses the id of an active subscription with 4409', async () => {
    const socket = await openAcked(server.wsUrl, server.adminKey);
    const subscribe = { id: 'same', type: 'subscribe', payload: { query: 'subscription { runStatus { id status } }' } };
    socket.send(subscribe);
    await waitFor('the first subscription to be live', () => server.app.hub.size === 1);
    socket.send(subscribe);
    expect((await socket.closed).code).toBe(4409);
    await waitFor('the hub to let go of the subscription', () => server.app.hub.size === 0);
  });

  it('a subscription id completed and reused at once leaves one watcher, and none once the socket closes', async () => {
    const socket = await openAcked(server.wsUrl, server.adminKey);
    const subscribe = { id: 'reused', type: 'subscribe', payload: { query: 'subscription { runStatus { id status } }' } };
    // Sent back to back, so the second subscribe arrives while the first is still being set up.
    socket.send(subscribe);
    socket.send({ id: 'reused', type: 'complete' });
    socket.send(subscribe);
    socket.send({ id: 'probe', type: 'subscribe', payload: { query: '{ viewer { name } }' } });
    await socket.next(forId('probe'));
    await waitFor('the subscriptions to be set up', () => server.app.hub.size >= 1);
    // Both setups are done once the hub holds still; only the latest subscription may be watching.
    await waitFor('one watcher for the reused id', () => server.app.hub.size === 1);
    await socket.close();
    await waitFor('every watcher to be released once the socket closed', () => server.app.hub.size === 0);
  });

  it('answers ping with pong, echoing the payload, before and after connection_init', async () => {
    const socket = await openRaw(server.wsUrl);
    socket.send({ type: 'ping', payload: { nonce: 'before-init' } });
    expect(await socket.next((m) => m.type === 'pong')).toEqual({ type: 'pong', payload: { nonce: 'before-init' } });
    await socket.init(server.adminKey);
    socket.send({ type: 'ping' });
    const pongs = () => socket.messages.filter((m) => m.type === 'pong');
    await waitFor('the second pong', () => pongs().length === 2);
    expect(pongs()[1]).toEqual({ type: 'pong' });
    socket.send({ type: 'ping', payload: { nested: { list: [1, 2, 3] } } });
    await waitFor('the third pong', () => pongs().length === 3);
    expect(pongs()[2]).toEqual({ type: 'pong', payload: { nested: { list: [1, 2, 3] } } });
    // A pong the client sends unasked is allowed and ignored.
    socket.send({ type: 'pong', payload: { unsolicited: true } });
    socket.send({ id: 'after', type: 'subscribe', payload: { query: '{ viewer { name } }' } });
    expect((await socket.next(forId('after'))).payload).toEqual({ data: { viewer: { name: 'Heartbeat' } } });
    expect(socket.isClosed()).toBe(false);
    await socket.close();
  });

  it('a client complete stops a live subscription: nothing more for its id, and its hub watcher is released', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ log: 'one' }, { result: { ok: true }, summary: 'done' }] } });
    const socket = await openAcked(server.wsUrl, server.adminKey);
    const query = 'subscription($agentId: ID) { runStatus(agentId: $agentId) { id status settledAt } }';
    socket.send({ id: 'stopped', type: 'subscribe', payload: { query, variables: { agentId: agentGid(agentId) } } });
    await waitFor('the subscription to be live', () => server.app.hub.size === 1);
    socket.send({ id: 'stopped', type: 'complete' });
    await waitFor('the hub to release the watcher', () => server.app.hub.size === 0);

    // A second subscription on the same agent sees the whole run; the stopped one sees nothing of it.
    socket.send({ id: 'live', type: 'subscribe', payload: { query, variables: { agentId: agentGid(agentId) } } });
    await waitFor('the second subscription to be live', () => server.app.hub.size === 1);
    const { runId } = await enqueue(server, { agentId });
    await socket.next((m) => m.id === 'live' && (m.payload as { data?: { runStatus?: { settledAt?: string } } }).data?.runStatus?.settledAt != null, 20_000);
    expect(socket.messages.filter(forId('stopped'))).toEqual([]);
    expect(socket.messages.filter(forId('live')).every((m) => (m.payload as { data: { runStatus: { id: string } } }).data.runStatus.id === runGid(runId!))).toBe(true);
    await socket.close();
    await waitFor('the hub to be empty', () => server.app.hub.size === 0);
  });

  it('the server completes a runEvents subscription of a finished run on its own', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ log: 'hello' }, { event: { type: 'note', message: 'working' } }, { result: { ok: true }, summary: 'done' }] } });
    const { runId } = await enqueue(server, { agentId });
    await runFinished(server, runId!);
    await waitFor('the run to settle', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.settledAt);
    const socket = await openAcked(server.wsUrl, server.adminKey);
    socket.send({
      id: 'events',
      type: 'subscribe',
      payload: { query: 'subscription($runId: ID!) { runEvents(runId: $runId) { seq eventType } }', variables: { runId: runGid(runId!) } },
    });
    await socket.next((m) => m.id === 'events' && m.type === 'complete');
    const received = socket.messages.filter(forId('events'));
    expect(received.at(-1)).toEqual({ id: 'events', type: 'complete' });
    const events = received.filter((m) => m.type === 'next').map((m) => (m.payload as { data: { runEvents: { seq: number } } }).data.runEvents.seq);
    expect(events.length).toBeGreaterThan(0);
    expect(events).toEqual([...events].sort((a, b) => a - b));
    expect(socket.isClosed()).toBe(false);
    await socket.close();
    await waitFor('the hub to be empty', () => server.app.hub.size === 0);
  });

  it('refuses a wrong subprotocol', async () => {
    // The server does not agree to the legacy subscriptions-transport-ws protocol: the handshake fails.
    await expect(openRaw(server.wsUrl, 'graphql-ws')).rejects.toThrow(/subprotocol/i);
    await expect(openRaw(server.wsUrl, ['mqtt', 'soap'])).rejects.toThrow(/subprotocol/i);
    // Without any subprotocol the socket opens and is closed at once with 4406.
    const socket = await openRaw(server.wsUrl, []);
    expect((await socket.closed).code).toBe(4406);
    // Not a WebSocket path at all.
    await expect(openRaw(server.wsUrl.replace(/\/graphql$/, '/elsewhere'))).rejects.toThrow();
  });

  it('closes a socket that sends an invalid message with 4400', async () => {
    const invalid: Array<[string, (socket: Awaited<ReturnType<typeof openRaw>>) => void]> = [
      ['not JSON', (s) => s.sendRaw('{"type": "connection_init"')],
      ['a JSON array', (s) => s.sendRaw('[]')],
      ['no type', (s) => s.send({ payload: {} })],
      ['an unknown type', (s) => s.send({ type: 'start', id: '1', payload: { query: '{ viewer { name } }' } })],
      ['a subscribe without an id', (s) => s.send({ type: 'subscribe', payload: { query: '{ viewer { name } }' } })],
      ['a subscribe whose query is not a string', (s) => s.send({ type: 'subscribe', id: '1', payload: { query: 42 } })],
      ['a ping with a string payload', (s) => s.send({ type: 'ping', payload: 'hello' })],
      ['a connection_ack from the client', (s) => s.send({ type: 'connection_ack' })],
      ['a next from the client', (s) => s.send({ type: 'next', id: '1', payload: { data: {} } })],
      ['an error from the client', (s) => s.send({ type: 'error', id: '1', payload: [{ message: 'boom' }] })],
      ['a binary frame that is not JSON', (s) => s.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true })],
    ];
    for (const [what, send] of invalid) {
      for (const acked of [false, true]) {
        const socket = acked ? await openAcked(server.wsUrl, server.adminKey) : await openRaw(server.wsUrl);
        send(socket);
        expect((await socket.closed).code, `${what} (${acked ? 'after' : 'before'} connection_ack)`).toBe(4400);
      }
    }
  });

  it('closes a socket that sends a message above the size limit with 1009', async () => {
    const socket = await openAcked(server.wsUrl, server.adminKey);
    socket.send({ id: 'big', type: 'subscribe', payload: { query: '{ viewer { name } }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } } });
    expect((await socket.closed).code).toBe(1009);
  });

  it('reports operation errors as error messages with codes, and keeps the connection', async () => {
    const socket = await openAcked(server.wsUrl, server.adminKey);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['parse', { query: '{ viewer { name ' }, 'GRAPHQL_PARSE_FAILED'],
      ['validate', { query: '{ viewer { nope } }' }, 'GRAPHQL_VALIDATION_FAILED'],
      ['aliases', { query: `{ ${Array.from({ length: 21 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }` }, 'GRAPHQL_VALIDATION_FAILED'],
      ['operation', { query: 'query A { viewer { name } }', operationName: 'B' }, 'BAD_REQUEST'],
    ];
    for (const [id, payload, code] of cases) {
      socket.send({ id, type: 'subscribe', payload });
      const message = await socket.next(forId(id));
      expect(message.type, id).toBe('error');
      const errors = message.payload as Array<{ extensions?: Record<string, unknown> }>;
      expect(errors[0].extensions?.code, id).toBe(code);
      expect(errors[0].extensions?.http, id).toBeUndefined();
    }
    socket.send({ id: 'vars', type: 'subscribe', payload: { query: 'query($n: Int) { agents(first: $n) { edges { cursor } } }', variables: { n: 'x' } } });
    const result = await socket.next(forId('vars'));
    expect(result.type).toBe('next');
    const errors = (result.payload as { errors: Array<{ extensions?: Record<string, unknown> }> }).errors;
    expect(errors[0].extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(socket.isClosed()).toBe(false);
    await socket.close();
  });

  it('still accepts a well-behaved client (sanity check for the refusals above)', async () => {
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => ws.once('open', resolve));
    expect(ws.protocol).toBe('graphql-transport-ws');
    ws.close(1000);
  });
});
