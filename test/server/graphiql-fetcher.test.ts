// The GraphiQL page's rules, as pure functions: which operation runs and over what, which headers a
// request carries, what a failed subscription shows; and example tabs that fit the schema.
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../schema/index.ts';
import { EXAMPLE_TABS } from '../../server/graphiql-examples.ts';
import { requestHeaders, resolveOperation, socketUrlOf, subscriptionFailure } from '../../server/graphiql-fetcher.ts';
import { keyStatusText } from '../../server/graphiql-key-bar.ts';
import { keyFromInput } from '../../server/graphiql-key.ts';

describe('resolveOperation', () => {
  it('sends subscriptions over WebSocket and everything else over HTTP', () => {
    expect(resolveOperation({ query: 'subscription RunStatus { runStatus { id } }', operationName: 'RunStatus' }).subscription).toBe(true);
    expect(resolveOperation({ query: '# comment\nsubscription { runStatus { id } }' }).subscription).toBe(true);
    expect(resolveOperation({ query: 'query Overview { viewer { id } }', operationName: 'Overview' }).subscription).toBe(false);
    expect(resolveOperation({ query: 'mutation { pauseAgent(id: "x") { id } }' }).subscription).toBe(false);
  });

  it("takes a document's only operation when GraphiQL still names the previous tab's", () => {
    const resolved = resolveOperation({ query: 'subscription RunStatus { runStatus { id } }', operationName: 'Overview' });
    expect(resolved).toEqual({ params: { query: 'subscription RunStatus { runStatus { id } }', operationName: 'RunStatus' }, subscription: true });
    expect(resolveOperation({ query: 'subscription { runStatus { id } }', operationName: 'Overview' }).params.operationName).toBeNull();
  });

  it('picks the named one of several operations, and leaves an unknown name for the server to refuse', () => {
    const query = 'mutation Create { createAgent(input: {name: "a", adapterType: SCRIPT}) { id } }\nsubscription Watch { runStatus { id } }';
    expect(resolveOperation({ query, operationName: 'Watch' }).subscription).toBe(true);
    expect(resolveOperation({ query, operationName: 'Create' }).subscription).toBe(false);
    expect(resolveOperation({ query, operationName: 'Missing' })).toEqual({ params: { query, operationName: 'Missing' }, subscription: false });
  });

  it('sends a document that does not parse as it is', () => {
    expect(resolveOperation({ query: 'subscription {', operationName: 'X' })).toEqual({ params: { query: 'subscription {', operationName: 'X' }, subscription: false });
  });
});

describe('requestHeaders', () => {
  it("sets Authorization from the stored key only, keeping the tab's other headers", () => {
    expect(requestHeaders({ Authorization: 'Bearer <your key>', 'X-Request-Id': 'abc', retries: 2 }, 'hb_key')).toEqual({
      'X-Request-Id': 'abc',
      retries: '2',
      authorization: 'Bearer hb_key',
    });
    expect(requestHeaders({ authorization: 'Bearer hb_other' }, null)).toEqual({});
    expect(requestHeaders(undefined, null)).toEqual({});
  });
});

describe('subscriptionFailure', () => {
  it('says "API key refused" for a connection closed with 4403', () => {
    const refused = subscriptionFailure({ code: 4403, reason: 'Forbidden' }, 'ws://127.0.0.1/graphql');
    expect(refused.errors?.[0].message).toMatch(/^API key refused: /);
    expect(refused.errors?.[0].extensions).toEqual({ closeCode: 4403 });
    const revoked = subscriptionFailure({ code: 4403, reason: 'Forbidden: the API key was revoked' }, 'ws://127.0.0.1/graphql');
    expect(revoked.errors?.[0].message).toMatch(/^API key refused \(Forbidden: the API key was revoked\): /);
  });

  it("shows other closes with their code, the server's GraphQL errors as they are, and a failed connection by its URL", () => {
    expect(subscriptionFailure({ code: 1011, reason: 'Internal error' }, 'ws://h/graphql').errors?.[0].message).toBe('The WebSocket closed (1011: Internal error).');
    const errors = [{ message: 'Cannot query field "nope"', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }];
    expect(subscriptionFailure(errors, 'ws://h/graphql')).toEqual({ errors });
    expect(subscriptionFailure({ isTrusted: true }, 'ws://h/graphql').errors?.[0].message).toBe('Cannot reach ws://h/graphql over WebSocket.');
  });
});

describe('the key field', () => {
  it('takes a key pasted with or without "Bearer "', () => {
    expect(keyFromInput('  Bearer hb_abc ')).toBe('hb_abc');
    expect(keyFromInput('hb_abc')).toBe('hb_abc');
    expect(keyFromInput('   ')).toBe('');
  });

  it('says whose key it is, or why it was refused', () => {
    expect(keyStatusText({ state: 'accepted', company: 'Acme', role: 'ADMIN' })).toBe('Key of Acme (ADMIN), used by every tab and by subscriptions.');
    expect(keyStatusText({ state: 'refused', message: 'Invalid API key or run token' })).toBe('API key refused: Invalid API key or run token');
    expect(keyStatusText({ state: 'none' })).toMatch(/^No key yet/);
  });
});

it('derives the WebSocket URL from the HTTP endpoint', () => {
  expect(socketUrlOf('http://127.0.0.1:4000/graphql')).toBe('ws://127.0.0.1:4000/graphql');
  expect(socketUrlOf('https://heartbeat.example/graphql')).toBe('wss://heartbeat.example/graphql');
});

it('opens with example tabs that validate against the schema, their variables JSON', () => {
  for (const tab of EXAMPLE_TABS) {
    expect(validate(schema, parse(tab.query)).map((error) => error.message)).toEqual([]);
    if (tab.variables) expect(() => JSON.parse(tab.variables!)).not.toThrow();
  }
});
