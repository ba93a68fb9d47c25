// Hostile and malformed requests get a GraphQL error with a stable extensions.code, no internals,
// and the server keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { postGraphQL, rawRequest } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('bad input', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const post = (body: string, contentType = 'application/json') =>
    rawRequest(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${server.adminKey}` },
      body,
    });

  function expectCleanError(text: string, code: string) {
    const json = JSON.parse(text) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    expect(json.errors.length).toBeGreaterThan(0);
    expect(json.errors[0].extensions.code).toBe(code);
    // No stack traces, no SQL, no raw parser internals.
    expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|stacktrace|originalError|select |postgres/i);
  }

  it('malformed JSON bodies -> BAD_REQUEST', async () => {
    for (const body of ['{"query":', 'not json', '{"query": "{ viewer { id } }"', '']) {
      const response = await post(body);
      expect([200, 400]).toContain(response.status);
      expectCleanError(response.text, 'BAD_REQUEST');
    }
  });

  it('a body that is not a GraphQL request -> BAD_REQUEST', async () => {
    for (const body of ['[]', '{}', '{"query": 42}', '{"query":"{ viewer { id } }","variables":"x"}']) {
      expectCleanError((await post(body)).text, 'BAD_REQUEST');
    }
  });

  it('syntax errors -> GRAPHQL_PARSE_FAILED', async () => {
    expectCleanError((await post(JSON.stringify({ query: '{ viewer { id ' }))).text, 'GRAPHQL_PARSE_FAILED');
  });

  it('unknown fields and arguments -> GRAPHQL_VALIDATION_FAILED', async () => {
    for (const query of ['{ viewer { nope } }', '{ nope }', '{ agents(bogus: 1) { edges { cursor } } }']) {
      expectCleanError((await post(JSON.stringify({ query }))).text, 'GRAPHQL_VALIDATION_FAILED');
    }
  });

  it('wrong variable types -> BAD_REQUEST naming the variable', async () => {
    const response = await post(
      JSON.stringify({
        query: 'query($n: Int) { agents(first: $n) { edges { cursor } } }',
        variables: { n: 'abc' },
      }),
    );
    expectCleanError(response.text, 'BAD_REQUEST');
    expect(response.text).toContain('$n');
    const enumValue = await post(
      JSON.stringify({
        query: 'query($f: RunFilter) { runs(filter: $f) { edges { cursor } } }',
        variables: { f: { status: ['NOT_A_STATUS'] } },
      }),
    );
    expectCleanError(enumValue.text, 'BAD_REQUEST');
  });

  it('invalid global ids -> BAD_USER_INPUT, and the wrong type of id too', async () => {
    const ids = [
      'garbage',
      '',
      Buffer.from('Agent:not-a-uuid').toString('base64'),
      Buffer.from('no separator').toString('base64'),
      '%%%',
      encodeGlobalId('Company', '00000000-0000-4000-8000-000000000000'), // wrong type for agent(id:)
    ];
    for (const id of ids) {
      const { body } = await postGraphQL(server.graphqlUrl, 'query($id: ID!) { agent(id: $id) { id } }', {
        key: server.adminKey,
        variables: { id },
      });
      expect(body.errors?.[0].extensions?.code, id).toBe('BAD_USER_INPUT');
      expect(body.data).toEqual({ agent: null });
    }
    const { body } = await postGraphQL(server.graphqlUrl, 'query($id: ID!) { node(id: $id) { id } }', {
      key: server.adminKey,
      variables: { id: 'garbage' },
    });
    expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('bad pagination arguments -> BAD_USER_INPUT', async () => {
    for (const args of ['first: -1', 'after: "garbage"']) {
      const { body } = await postGraphQL(server.graphqlUrl, `{ agents(${args}) { edges { cursor } } }`, {
        key: server.adminKey,
      });
      expect(body.errors?.[0].extensions?.code, args).toBe('BAD_USER_INPUT');
    }
  });

  it('unsupported methods and content types are refused cleanly', async () => {
    const put = await rawRequest(server.graphqlUrl, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expectCleanError(put.text, 'BAD_REQUEST');
    const text = await post('hello', 'text/plain');
    expect(text.status).toBe(415);
  });

  it('still serves normal queries afterwards', async () => {
    const { status, body } = await postGraphQL(server.graphqlUrl, '{ viewer { name } }', { key: server.adminKey });
    expect(status).toBe(200);
    expect(body.data).toEqual({ viewer: { name: 'Heartbeat' } });
    expect((await rawRequest(server.app.url + '/healthz', {})).status).toBe(200);
    expect((await rawRequest(server.app.url + '/readyz', {})).status).toBe(200);
  });
});
