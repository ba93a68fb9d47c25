import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, apiKeys, companies } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { closeCodeOf, collect, postGraphQL, wsClient } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const VIEWER = '{ viewer { id name } }';

describe('API keys', () => {
  let server: TestServer;
  let otherCompany: { id: string; key: string; agentId: string };

  beforeAll(async () => {
    server = await startTestServer();
    const { db } = server.database;
    const [company] = await db.insert(companies).values({ name: 'Other Co' }).returning();
    const [agent] = await db
      .insert(agents)
      .values({ companyId: company.id, name: 'secret agent', adapterType: 'script' })
      .returning();
    const key = await createApiKey(db, { companyId: company.id, name: 'other' });
    otherCompany = { id: company.id, key: key.key, agentId: agent.id };
  });
  afterAll(() => server?.close());

  describe('over HTTP', () => {
    it('accepts the bootstrap key and answers viewer with its company', async () => {
      const { status, body } = await postGraphQL(server.graphqlUrl, VIEWER, { key: server.adminKey });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({
        viewer: { id: encodeGlobalId('Company', server.companyId), name: 'Heartbeat' },
      });
    });

    it('refuses a request without a key with UNAUTHENTICATED', async () => {
      const { status, body } = await postGraphQL(server.graphqlUrl, VIEWER);
      expect(status).toBe(401);
      expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    });

    it('refuses a wrong key and a malformed Authorization header', async () => {
      for (const headers of [
        { authorization: 'Bearer hb_this_key_does_not_exist_at_all' },
        { authorization: server.adminKey },
        { authorization: 'Basic dXNlcjpwYXNz' },
      ]) {
        const { status, body } = await postGraphQL(server.graphqlUrl, VIEWER, { headers });
        expect(status).toBe(401);
        expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      }
    });

    it('refuses a revoked key at once', async () => {
      const { db } = server.database;
      const created = await createApiKey(db, { companyId: server.companyId, name: 'temp' });
      expect((await postGraphQL(server.graphqlUrl, VIEWER, { key: created.key })).status).toBe(200);
      await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, created.id));
      const { status, body } = await postGraphQL(server.graphqlUrl, VIEWER, { key: created.key });
      expect(status).toBe(401);
      expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('checks many concurrent requests with different keys (checked together) each against its own key', async () => {
      const { db } = server.database;
      const revoked = await createApiKey(db, { companyId: server.companyId, name: 'revoked' });
      await db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, revoked.id));
      const cases = [
        { key: server.adminKey, company: server.companyId },
        { key: otherCompany.key, company: otherCompany.id },
        { key: revoked.key, company: null },
        { key: 'hb_unknown-key-of-nobody-at-all', company: null },
      ];
      const asked = Array.from({ length: 40 }, (_, i) => cases[i % cases.length]);
      const answers = await Promise.all(asked.map(({ key }) => postGraphQL(server.graphqlUrl, VIEWER, { key })));
      answers.forEach((answer, i) => {
        const { company } = asked[i];
        if (company) expect(answer.body.data).toEqual({ viewer: { id: encodeGlobalId('Company', company), name: expect.any(String) } });
        else expect([answer.status, answer.body.errors?.[0].extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
      });
    });

    it('lets anonymous callers introspect (GraphiQL loads the schema) but nothing else', async () => {
      const introspection = await postGraphQL(server.graphqlUrl, '{ __schema { queryType { name } } }');
      expect(introspection.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const mixed = await postGraphQL(server.graphqlUrl, '{ __typename viewer { id } }');
      expect(mixed.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it("never shows another company's data", async () => {
      const foreignAgentId = encodeGlobalId('Agent', otherCompany.agentId);
      const query = `query($id: ID!) {
        viewer { name }
        agents(first: 50) { edges { node { id name } } }
        agent(id: $id) { id }
        node(id: $id) { id }
        nodes(ids: [$id]) { id }
      }`;
      const mine = await postGraphQL(server.graphqlUrl, query, {
        key: server.adminKey,
        variables: { id: foreignAgentId },
      });
      expect(mine.body.errors).toBeUndefined();
      expect(mine.body.data).toEqual({
        viewer: { name: 'Heartbeat' },
        agents: { edges: [] },
        agent: null,
        node: null,
        nodes: [null],
      });
      const theirs = await postGraphQL(server.graphqlUrl, query, {
        key: otherCompany.key,
        variables: { id: foreignAgentId },
      });
      expect(theirs.body.data).toMatchObject({
        viewer: { name: 'Other Co' },
        agents: { edges: [{ node: { id: foreignAgentId, name: 'secret agent' } }] },
        agent: { id: foreignAgentId },
        node: { id: foreignAgentId },
      });
      const foreignCompany = await postGraphQL(server.graphqlUrl, 'query($id: ID!) { node(id: $id) { id } }', {
        key: server.adminKey,
        variables: { id: encodeGlobalId('Company', otherCompany.id) },
      });
      expect(foreignCompany.body.data).toEqual({ node: null });
    });
  });

  describe('over WebSocket', () => {
    it('accepts connectionParams.authorization and runs operations', async () => {
      const client = wsClient(server.wsUrl, { authorization: `Bearer ${server.adminKey}` });
      try {
        const results = await collect(client, VIEWER);
        expect(results).toEqual([
          { data: { viewer: { id: encodeGlobalId('Company', server.companyId), name: 'Heartbeat' } } },
        ]);
      } finally {
        await client.dispose();
      }
    });

    it('closes with 4403 when the key is missing or wrong', async () => {
      for (const params of [undefined, { authorization: 'Bearer hb_wrong_key_wrong_key_wrong' }, { authorization: 42 }]) {
        const client = wsClient(server.wsUrl, params);
        const closed = closeCodeOf(client);
        await expect(collect(client, VIEWER)).rejects.toBeDefined();
        expect(await closed).toBe(4403);
        await client.dispose();
      }
    });

    it('keeps companies apart over WebSocket too', async () => {
      const client = wsClient(server.wsUrl, { authorization: `Bearer ${otherCompany.key}` });
      try {
        const [result] = await collect(client, `{ viewer { name } agent(id: "${encodeGlobalId('Agent', otherCompany.agentId)}") { id } }`);
        expect(result.data).toMatchObject({ viewer: { name: 'Other Co' }, agent: { id: encodeGlobalId('Agent', otherCompany.agentId) } });
        const [mine] = await collect(client, `{ agents(first: 5) { edges { node { name } } } }`);
        expect(mine.data).toEqual({ agents: { edges: [{ node: { name: 'secret agent' } }] } });
      } finally {
        await client.dispose();
      }
    });
  });
});
