// A cursor is a position in the list that issued it: another list refuses it (BAD_USER_INPUT),
// while cursors of the same list, and untagged ones issued before cursors named their list, page on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cursorListOf } from '../../schema/connection-cursors.ts';
import { schema } from '../../schema/index.ts';
import { agentGid, createAgent, enqueue, gql, runFinished } from '../support/api.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agentId: string;
beforeAll(async () => {
  server = await startTestServer();
  agentId = await createAgent(server, {});
  await createAgent(server, {});
  for (let i = 0; i < 3; i++) await runFinished(server, (await enqueue(server, { agentId })).runId!);
});
afterAll(() => server?.close());

const endCursor = async (list: string) =>
  (await gql(server, `{ ${list}(first: 1) { pageInfo { endCursor } } }`))[list].pageInfo.endCursor as string;

const errorsOf = async (query: string, variables: Record<string, unknown>) =>
  (await postGraphQL(server.graphqlUrl, query, { key: server.adminKey, variables })).body;

describe('cursors are bound to their list', () => {
  it('a cursor of agents, issues or wakeupRequests is refused by runs, in after and in before', async () => {
    await gql(server, 'mutation { createIssue(input: { title: "x" }) { issue { id } } }');
    for (const list of ['agents', 'issues', 'wakeupRequests']) {
      const cursor = await endCursor(list);
      for (const argument of ['after', 'before']) {
        const body = await errorsOf(`query($c: String) { runs(${argument}: $c, ${argument === 'after' ? 'first' : 'last'}: 5) { edges { cursor } } }`, { c: cursor });
        expect(body.errors?.[0].extensions?.code, `${list} ${argument}`).toBe('BAD_USER_INPUT');
        expect(body.errors?.[0].extensions?.argument).toBe(argument);
        expect(body.errors?.[0].message).toContain(`the ${list} list`);
        expect(body.data ?? null).toBeNull(); // refused before execution: no data at all
      }
    }
  });

  it('a cursor of runs is refused by agents and wakeupRequests, and by nested lists of another kind', async () => {
    const cursor = await endCursor('runs');
    for (const list of ['agents', 'wakeupRequests', 'issues']) {
      const body = await errorsOf(`query($c: String) { ${list}(after: $c) { edges { cursor } } }`, { c: cursor });
      expect(body.errors?.[0].extensions?.code, list).toBe('BAD_USER_INPUT');
    }
    const agents = await endCursor('agents');
    const nested = await errorsOf('query($a: ID!, $c: String) { agent(id: $a) { runs(after: $c) { edges { cursor } } } }', { a: agentGid(agentId), c: agents });
    // Refused before anything runs, naming the nested list: not a null agent with the agent's path.
    expect(nested.errors).toHaveLength(1);
    expect(nested.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after', field: 'Agent.runs' });
    expect(nested.errors?.[0].path).toBeUndefined();
    expect(nested.data ?? null).toBeNull();
    const inList = await errorsOf('query($c: String) { agents(first: 5) { edges { node { runs(before: $c, last: 1) { edges { cursor } } } } } }', { c: agents });
    expect(inList.errors).toHaveLength(1);
    expect(inList.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'before', field: 'Agent.runs' });
  });

  it('every connection in the schema names the list its cursors belong to', () => {
    const connections = Object.values(schema.getTypeMap()).filter((type) => type.name.endsWith('Connection'));
    expect(connections.length).toBeGreaterThanOrEqual(6);
    for (const type of connections) expect(cursorListOf(type), type.name).toBeDefined();
  });

  it('runs, Agent.runs and Issue.runs share one ordering, so their cursors page each other', async () => {
    const query = `query($a: ID!, $c: String) {
      runs(first: 1, after: $c, filter: { agentId: $a }) { edges { node { id } } pageInfo { endCursor } }
      agent(id: $a) { runs(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } }
    }`;
    const first = await gql(server, query, { a: agentGid(agentId), c: null });
    const fromTop = await gql(server, query, { a: agentGid(agentId), c: first.runs.pageInfo.endCursor });
    const fromNested = await gql(server, query, { a: agentGid(agentId), c: first.agent.runs.pageInfo.endCursor });
    expect(fromTop.runs.edges[0].node.id).not.toBe(first.runs.edges[0].node.id);
    expect(fromNested).toEqual(fromTop);
    expect(fromTop.agent.runs.edges).toEqual(fromTop.runs.edges);
  });

  it('an untagged cursor as issued before (plugin format) still pages; a forged one is BAD_USER_INPUT, not an internal error', async () => {
    const rows = await server.database.db.query.heartbeatRuns.findMany({ where: { agentId }, orderBy: { createdAt: 'desc', id: 'desc' } });
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const legacy = Buffer.from(`DC:T:${JSON.stringify([`D:${rows[0].createdAt.getTime()}`, `S:${rows[0].id}`])}`).toString('base64');
    const page = await gql(server, 'query($c: String, $a: ID!) { runs(first: 1, after: $c, filter: { agentId: $a }) { edges { node { id } } } }', { c: legacy, a: agentGid(agentId) });
    expect(page.runs.edges).toHaveLength(1);
    expect(Buffer.from(page.runs.edges[0].node.id, 'base64').toString()).toBe(`HeartbeatRun:${rows[1].id}`);
    for (const forged of [
      `DC:T:${JSON.stringify(['S:yesterday', 'S:nope'])}`,
      `DC:T:${JSON.stringify(['D:1', 'S:not-a-uuid'])}`,
      `DC:T:${JSON.stringify(['D:x', `S:${rows[0].id}`])}`,
      `DC:T:${JSON.stringify(['D:1', `S:${rows[0].id}`, 'S:extra'])}`,
      'runs:DC:O:{}',
    ]) {
      const body = await errorsOf('query($c: String) { runs(after: $c) { edges { cursor } } }', { c: Buffer.from(forged).toString('base64') });
      expect(body.errors?.[0].extensions?.code, forged).toBe('BAD_USER_INPUT');
    }
  });
});
