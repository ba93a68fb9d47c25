// issues(filter:): status, priority and assignee filtered by the API, page after page, within the
// caller's company.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { companies, issues } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { agentGid, createAgent, gql } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

type Page = { issues: { edges: Array<{ node: { title: string; status: string; priority: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
const ISSUES = `query($filter: IssueFilter, $after: String) {
  issues(first: 100, after: $after, filter: $filter) { edges { node { title status priority } } pageInfo { hasNextPage endCursor } }
}`;

/** Every issue the filter matches, page by page. */
async function all(filter: Record<string, unknown> | null, key = server.adminKey) {
  const titles: string[] = [];
  let after: string | null = null;
  do {
    const page: Page = await gql<Page>(server, ISSUES, { filter, after }, key);
    titles.push(...page.issues.edges.map((edge) => edge.node.title));
    after = page.issues.pageInfo.hasNextPage ? page.issues.pageInfo.endCursor : null;
  } while (after);
  return titles;
}

it('filters by status, priority and assignee across pages, and only in the key\'s company', async () => {
  const agentId = await createAgent(server, {});
  const rows = [
    ...Array.from({ length: 130 }, (_, i) => ({ title: `todo ${i}`, status: 'todo' as const, priority: 'medium' as const })),
    ...Array.from({ length: 3 }, (_, i) => ({ title: `done ${i}`, status: 'done' as const, priority: 'high' as const })),
    ...Array.from({ length: 2 }, (_, i) => ({ title: `assigned ${i}`, status: 'in_progress' as const, priority: 'critical' as const, assigneeAgentId: agentId })),
  ];
  await server.database.db.insert(issues).values(rows.map((row, i) => ({ ...row, companyId: server.companyId, identifier: `F-${i + 1}` })));

  const todo = await all({ status: ['TODO'] });
  expect(todo).toHaveLength(130);
  expect(new Set(todo)).toEqual(new Set(rows.filter((row) => row.status === 'todo').map((row) => row.title)));
  expect((await all({ status: ['DONE', 'IN_PROGRESS'] })).sort()).toEqual(['assigned 0', 'assigned 1', 'done 0', 'done 1', 'done 2']);
  expect((await all({ priority: ['HIGH'] })).sort()).toEqual(['done 0', 'done 1', 'done 2']);
  expect((await all({ assigneeAgentId: agentGid(agentId) })).sort()).toEqual(['assigned 0', 'assigned 1']);
  expect(await all({ status: ['TODO'], assigneeAgentId: agentGid(agentId) })).toEqual([]);
  // "Any of these": an empty list matches none; no filter, every issue.
  expect(await all({ status: [] })).toEqual([]);
  expect(await all(null)).toHaveLength(rows.length);

  const [other] = await server.database.db.insert(companies).values({ name: 'Other' }).returning();
  const otherKey = await createApiKey(server.database.db, { companyId: other.id, name: 'other' });
  expect(await all({ status: ['TODO'] }, otherKey.key)).toEqual([]);
  expect(await all({ assigneeAgentId: agentGid(agentId) }, otherKey.key)).toEqual([]);
});
