// Arguments out of their documented range, or contradicting each other, are refused with
// BAD_USER_INPUT naming the argument (as a negative `first` on a list is), instead of being
// silently clamped, ignored or read as something else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGid, createAgent, createIssue, enqueue, gql, issueGid, runFinished, runGid } from '../support/api.ts';
import { collect, postGraphQL, wsClient } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agentId: string;
let runId: string;
beforeAll(async () => {
  server = await startTestServer();
  agentId = await createAgent(server, { adapterConfig: { steps: [{ log: 'hello world' }, { event: { type: 'tool.call', message: 'ls' } }, { result: { ok: true } }] } });
  runId = (await enqueue(server, { agentId })).runId!;
  await runFinished(server, runId);
});
afterAll(() => server?.close());

const post = (query: string, variables: Record<string, unknown> = {}) => postGraphQL(server.graphqlUrl, query, { key: server.adminKey, variables });

describe('HeartbeatRun.events and HeartbeatRun.log', () => {
  it('events(first:) outside 1..1000 and a negative afterSeq -> BAD_USER_INPUT on the events field', async () => {
    for (const [args, argument] of [
      ['first: 0', 'first'],
      ['first: -1', 'first'],
      ['first: 1001', 'first'],
      ['afterSeq: -1', 'afterSeq'],
    ] as const) {
      const { body } = await post(`query($id: ID!) { run(id: $id) { status events(${args}) { seq } } }`, { id: runGid(runId) });
      expect(body.errors?.[0].extensions?.code, args).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0].extensions?.argument, args).toBe(argument);
      expect(body.errors?.[0].message).toMatch(argument === 'first' ? /first must be between 1 and 1000/ : /afterSeq must be at least 0/);
      expect(body.errors?.[0].path, args).toEqual(['run', 'events']);
    }
  });

  it('events within range still page, by variables and with aliases side by side', async () => {
    const data = await gql(server, 'query($id: ID!, $n: Int) { run(id: $id) { one: events(first: $n) { seq } all: events(first: 1000) { seq } later: events(afterSeq: 1) { seq } } }', { id: runGid(runId), n: 1 });
    expect(data.run.one).toEqual([{ seq: 1 }]);
    expect(data.run.all.length).toBeGreaterThan(2);
    expect(data.run.later).toEqual(data.run.all.slice(1));
  });

  it('log(tailBytes:) outside 1..1 MiB -> BAD_USER_INPUT; 1 is the last byte', async () => {
    for (const tail of [0, -1, 1024 * 1024 + 1]) {
      const { body } = await post('query($id: ID!, $t: Int) { run(id: $id) { log(tailBytes: $t) } }', { id: runGid(runId), t: tail });
      expect(body.errors?.[0].extensions?.code, String(tail)).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0].extensions?.argument).toBe('tailBytes');
      expect(body.errors?.[0].message).toContain('tailBytes must be between 1 and 1048576');
    }
    const data = await gql(server, 'query($id: ID!) { run(id: $id) { log(tailBytes: 1) } }', { id: runGid(runId) });
    expect(data.run.log).toBe('\n');
  });
});

describe('subscriptions', () => {
  it('runEvents with a negative afterSeq -> BAD_USER_INPUT', async () => {
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${server.adminKey}` });
    try {
      const results = await collect(client, 'subscription($id: ID!) { runEvents(runId: $id, afterSeq: -1) { seq } }', { id: runGid(runId) });
      expect(results).toHaveLength(1);
      expect(results[0].errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(results[0].errors?.[0].extensions?.argument).toBe('afterSeq');
      const replay = await collect<{ runEvents: { seq: number } }>(client, 'subscription($id: ID!) { runEvents(runId: $id, afterSeq: 0) { seq } }', { id: runGid(runId) });
      expect(replay[0].data?.runEvents.seq).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it('runStatus with more than one of runId, agentId and issueId -> BAD_USER_INPUT; one alone still works', async () => {
    const otherAgent = await createAgent(server, {});
    const { issueId } = await createIssue(server, { title: 'watched' });
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${server.adminKey}` });
    const query = 'subscription($r: ID, $a: ID, $i: ID) { runStatus(runId: $r, agentId: $a, issueId: $i) { id status } }';
    try {
      for (const variables of [
        { r: runGid(runId), a: agentGid(otherAgent) },
        { r: runGid(runId), a: agentGid(agentId) },
        { a: agentGid(agentId), i: issueGid(issueId) },
        { r: runGid(runId), a: agentGid(agentId), i: issueGid(issueId) },
      ]) {
        const results = await collect(client, query, variables);
        expect(results, JSON.stringify(variables)).toHaveLength(1);
        expect(results[0].errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
        expect(results[0].errors?.[0].message).toContain('at most one of runId, agentId and issueId');
      }
      // A finished, settled run: its current state, then completion.
      const single = await collect<{ runStatus: { id: string; status: string } }>(client, query, { r: runGid(runId) });
      expect(single.map((result) => result.data?.runStatus)).toEqual([{ id: runGid(runId), status: 'SUCCEEDED' }]);
    } finally {
      await client.dispose();
    }
  });
});

describe('mutation arguments', () => {
  it('a too-long cancelRun reason is reported as the argument the caller sent, reason', async () => {
    const { body } = await post('mutation($id: ID!, $reason: String) { cancelRun(id: $id, reason: $reason) { status } }', { id: runGid(runId), reason: 'x'.repeat(501) });
    expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0].extensions?.argument).toBe('reason');
    expect(body.errors?.[0].message).toBe('reason is longer than 500 characters');
    expect(JSON.stringify(body.errors)).not.toContain('cancelReason');
  });
});

describe('connection page sizes', () => {
  it('a negative first or last is refused naming the connection, nested ones too, before anything runs', async () => {
    const issueId = (await createIssue(server, { title: 'pages', assigneeAgentId: agentId })).issueId;
    for (const [query, variables, argument, field] of [
      ['{ runs(first: -1) { edges { cursor } } }', {}, 'first', 'Query.runs'],
      ['query($n: Int) { agents(last: $n) { edges { cursor } } }', { n: -5 }, 'last', 'Query.agents'],
      ['query($id: ID!) { agent(id: $id) { name runs(first: -1) { edges { cursor } } } }', { id: agentGid(agentId) }, 'first', 'Agent.runs'],
      ['query($id: ID!) { issue(id: $id) { title runs(last: -1) { edges { cursor } } } }', { id: issueGid(issueId) }, 'last', 'Issue.runs'],
      ['query($n: Int) { agents(first: 5) { edges { node { name runs(first: $n) { edges { cursor } } } } } }', { n: -1 }, 'first', 'Agent.runs'],
    ] as const) {
      const { body } = await post(query, variables);
      expect(body.errors?.[0].extensions, query).toMatchObject({ code: 'BAD_USER_INPUT', argument, field });
      expect(body.errors?.[0].message).toBe(`Argument "${argument}" of ${field} must be a non-negative integer`);
      expect(body.data ?? null, query).toBeNull();
    }
  });

  it('0 is an empty page, and more than 100 is read as 100 with hasNextPage, as the argument describes', async () => {
    const data = await gql(server, 'query($id: ID!) { agent(id: $id) { none: runs(first: 0) { edges { cursor } pageInfo { hasNextPage } } all: runs(first: 1000) { edges { cursor } } } }', { id: agentGid(agentId) });
    expect(data.agent.none).toEqual({ edges: [], pageInfo: { hasNextPage: true } });
    expect(data.agent.all.edges.length).toBeGreaterThan(0);
    const described = await gql(server, '{ __type(name: "Query") { fields { name args { name description } } } }');
    const first = described.__type.fields.find((f: { name: string }) => f.name === 'runs').args.find((a: { name: string }) => a.name === 'first');
    expect(first.description).toContain('more is read as 100');
  });
});
