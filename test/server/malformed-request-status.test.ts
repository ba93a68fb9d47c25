// A request that is not a GraphQL request is HTTP 400 whatever the client accepts, like a batch or
// malformed variables. Only well-formed requests whose document fails keep the legacy 200 under
// `accept: application/json`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('malformed requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const post = (body: string, accept?: string) =>
    rawRequest(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}`, ...(accept ? { accept } : {}) },
      body,
    });

  it('invalid JSON, an empty body, {} and no query are 400 BAD_REQUEST for every accept header', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/graphql-response+json']) {
      for (const body of ['{', '', '{}', '{"query":null}', '{"variables":{}}']) {
        const { status, json } = await post(body, accept);
        expect(status, `${accept} ${JSON.stringify(body)}`).toBe(400);
        expect(json?.errors?.[0].extensions?.code, `${accept} ${JSON.stringify(body)}`).toBe('BAD_REQUEST');
      }
    }
  });

  it('a multipart body (a file upload) is not parsed: no field takes a file', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: '{ viewer { name } }' }));
    form.set('map', '{}');
    const request = new Request(server.graphqlUrl, { method: 'POST', body: form });
    const { status, json } = await rawRequest(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': request.headers.get('content-type')!, authorization: `Bearer ${server.adminKey}` },
      body: Buffer.from(await request.arrayBuffer()),
    });
    expect(status).toBe(415);
    expect(json?.errors?.[0]).toMatchObject({ message: expect.stringMatching(/application\/json.*not multipart\/form-data/), extensions: { code: 'BAD_REQUEST' } });
    // Any other content type no parser takes is answered the same way.
    const text = await rawRequest(server.graphqlUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{ viewer { name } }' });
    expect(text.status).toBe(415);
    expect(text.json?.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
  });

  it('GET without a query, or with malformed variables, is 400 too', async () => {
    for (const params of [{}, { query: '{ viewer { name } }', variables: '{' }] as Array<Record<string, string>>) {
      const { status, json } = await rawRequest(`${server.graphqlUrl}?${new URLSearchParams(params)}`, {
        headers: { accept: 'application/json', authorization: `Bearer ${server.adminKey}` },
      });
      expect(status, JSON.stringify(params)).toBe(400);
      expect(json?.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    }
  });

  it('an operation that cannot be chosen is BAD_REQUEST (not yoga\'s undocumented OPERATION_RESOLUTION_FAILURE)', async () => {
    const query = 'query A { viewer { name } } query B { viewer { id } }';
    const get = await rawRequest(`${server.graphqlUrl}?${new URLSearchParams({ query })}`, {
      headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${server.adminKey}` },
    });
    expect([get.status, get.json?.errors?.[0].extensions?.code]).toEqual([400, 'BAD_REQUEST']);
    const unknown = await post(JSON.stringify({ query, operationName: 'C' }), 'application/graphql-response+json');
    expect(unknown.json?.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
  });

  it('a validation failure under accept: application/json keeps 200 (legacy), and a good request still runs', async () => {
    expect((await post(JSON.stringify({ query: '{ viewer { nope } }' }), 'application/json')).status).toBe(200);
    const ok = await post(JSON.stringify({ query: '{ viewer { name } }' }), 'application/json');
    expect(ok.status).toBe(200);
    expect(ok.json?.data).toEqual({ viewer: { name: 'Heartbeat' } });
  });
});
