// The mutation rate limit counts root mutation fields, not requests: 20 aliased mutations in one
// request take 20 tokens, and a request that needs more than are left runs none of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { agentGid, createAgent } from '../support/api.ts';
import { collect, wsClient } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const aliased = (n: number) => `mutation($id: ID!) { ${Array.from({ length: n }, (_, i) => `m${i}: resumeAgent(id: $id) { id }`).join(' ')} }`;

describe('mutation rate limit per field', () => {
  let server: TestServer;
  let agent: string;
  beforeAll(async () => {
    // A burst of 100; refills too slowly (one token per 10 s) to matter within a test.
    server = await startTestServer({ env: { HEARTBEAT_MUTATION_RATE: '0.1', HEARTBEAT_MUTATION_BURST: '100' } });
    agent = agentGid(await createAgent(server, {}));
  });
  afterAll(() => server?.close());

  const operatorKey = async () => (await createApiKey(server.database.db, { companyId: server.companyId, name: 'op', role: 'operator' })).key;
  const send = (key: string, query: string) =>
    fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables: { id: agent } }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions: { code: string } }> } }));

  it('50 parallel requests of 20 aliased mutations run at most 100 mutations; the rest are refused whole with 429', async () => {
    const key = await operatorKey();
    const answers = await Promise.all(Array.from({ length: 50 }, () => send(key, aliased(20))));
    const ran = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(ran).toHaveLength(5);
    expect(refused).toHaveLength(45);
    for (const answer of ran) expect(Object.keys(answer.body.data ?? {})).toHaveLength(20);
    for (const answer of refused) {
      expect(answer.body.errors?.[0].extensions.code).toBe('RATE_LIMITED');
      expect(answer.body.data ?? null).toBeNull();
    }
    // Nothing is left, not even for one field.
    expect((await send(key, aliased(1))).status).toBe(429);
  });

  it('a request needing more tokens than are left runs none of its fields', async () => {
    const key = await operatorKey();
    for (let i = 0; i < 4; i++) expect((await send(key, aliased(20))).status).toBe(200);
    expect((await send(key, aliased(15))).status).toBe(200); // 5 left
    const whole = await send(key, aliased(6));
    expect(whole.status).toBe(429);
    expect(whole.body.data ?? null).toBeNull();
    // The refused request took nothing: the 5 tokens are still there.
    expect((await send(key, aliased(5))).status).toBe(200);
  });

  it('counts fields the same over WebSocket', async () => {
    const key = await operatorKey();
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${key}` });
    try {
      for (let i = 0; i < 5; i++) {
        const [result] = await collect(client, aliased(20), { id: agent });
        expect(result.errors).toBeUndefined();
      }
      const error = await collect(client, aliased(1), { id: agent }).then(
        (results) => results[0].errors?.[0],
        (errors: unknown) => (Array.isArray(errors) ? errors[0] : errors),
      );
      expect((error as { extensions?: { code?: string } }).extensions?.code).toBe('RATE_LIMITED');
    } finally {
      await client.dispose();
    }
  });
});
