import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents } from '../../db/schema.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Page = {
  agents: { edges: Array<{ cursor: string; node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};

describe('Relay connections', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const page = async (after: string | null) => {
    const { body } = await postGraphQL<Page>(
      server.graphqlUrl,
      `query($after: String) { agents(first: 7, after: $after) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
      { key: server.adminKey, variables: { after } },
    );
    expect(body.errors).toBeUndefined();
    return body.data!.agents;
  };

  it('pages through every row exactly once, ties on created_at included, while rows are inserted', async () => {
    // One multi-row insert: every row gets the same created_at, so only the id breaks ties.
    const rows = await server.database.db
      .insert(agents)
      .values(Array.from({ length: 25 }, (_, i) => ({ companyId: server.companyId, name: `agent ${i}`, adapterType: 'script' as const })))
      .returning({ id: agents.id });
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; ; i++) {
      const current = await page(after);
      seen.push(...current.edges.map((edge) => edge.node.id));
      if (i === 1) {
        // Rows arriving mid-scan (newer, so after the ones already listed) must not disturb it.
        await server.database.db
          .insert(agents)
          .values([{ companyId: server.companyId, name: 'late', adapterType: 'script' }]);
      }
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    const expected = rows.map((row) => encodeGlobalId('Agent', row.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 25).sort()).toEqual([...expected].sort());
    expect(seen).toHaveLength(26);
  });
});
