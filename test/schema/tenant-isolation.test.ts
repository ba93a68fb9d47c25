// Tenant isolation, root field by root field. The fields come from the schema itself: a root field
// added to Query, Mutation or Subscription without a case in CASES fails this file until someone
// states how it is called against another company's objects and what "isolated" means for it.
import { isObjectType } from 'graphql';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTaskSessions, companies, costEvents } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { schema } from '../../schema/index.ts';
import { gql, rawId, runFinished } from '../support/api.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { openAcked, type RawSocket } from '../support/raw-ws.ts';

/** Company A's objects (global ids), which company B's admin key tries to reach. */
interface Fixtures {
  a: { company: string; agent: string; issue: string; run: string; wakeup: string; comment: string; document: string; apiKey: string; key: string; project: string; budget: string };
  b: { company: string; agent: string; issue: string; run: string; key: string };
  /** A's global ids, raw uuids and distinctive texts: none may appear in anything B receives. */
  secrets: string[];
}

type Call = { query: string; variables?: Record<string, unknown> };
type Result = { status?: number; data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

interface Case {
  label: string;
  call: (f: Fixtures) => Call;
  /**
   * What isolation means for it: `null` (the field answers null, as if A's object did not exist),
   * `NOT_FOUND`/`FORBIDDEN` (refused with that code), or a check of the result.
   */
  isolated: 'null' | 'NOT_FOUND' | 'FORBIDDEN' | ((result: Result, f: Fixtures, server: TestServer) => void | Promise<void>);
}

const A_AGENT_NAME = 'a-secret-agent';
const A_ISSUE_TITLE = 'a-secret-issue';
const A_COMMENT = 'a-secret-comment';
const A_DOCUMENT = 'a-secret-document';
const A_COMPANY = 'a-secret-company';
const A_SESSION = 'a-secret-session';
const A_PROJECT = 'a-secret-project';
const A_MODEL = 'a-secret-model';

const ENQUEUE_ON_ISSUE = 'mutation($a: ID!, $i: ID) { enqueueWakeup(input: { agentId: $a, issueId: $i, reason: "hijack" }) { outcome run { id } wakeupRequest { status error } } }';

/** A connection of B's: it lists B's objects and none of A's. */
const onlyB = (field: string, own: (f: Fixtures) => string[]) => (result: Result, f: Fixtures) => {
  expect(result.errors, field).toBeUndefined();
  const ids = ((result.data?.[field] as { edges: Array<{ node: { id: string } }> }).edges ?? []).map((e) => e.node.id);
  expect(ids, field).toEqual(expect.arrayContaining(own(f)));
};
const emptyConnection = (field: string) => (result: Result) => {
  expect(result.errors, field).toBeUndefined();
  expect(result.data?.[field], field).toEqual({ edges: [] });
};
const notFoundAt = (field: string) => (result: Result) => {
  expect(result.errors?.map((e) => e.extensions?.code), field).toEqual(['NOT_FOUND']);
  expect(result.data?.[field] ?? null, field).toBeNull();
};

/** Every node type implementing Node, and A's object of that type. */
const NODE_IDS: Record<string, (f: Fixtures) => string> = {
  Agent: (f) => f.a.agent,
  ApiKey: (f) => f.a.apiKey,
  Company: (f) => f.a.company,
  HeartbeatRun: (f) => f.a.run,
  Issue: (f) => f.a.issue,
  IssueComment: (f) => f.a.comment,
  IssueDocument: (f) => f.a.document,
  Project: (f) => f.a.project,
  WakeupRequest: (f) => f.a.wakeup,
};
const NODE_TYPES = schema.getPossibleTypes(schema.getType('Node') as never).map((type) => type.name).sort();
const allNodeIds = (f: Fixtures) =>
  NODE_TYPES.map((type) => {
    const id = NODE_IDS[type];
    if (!id) throw new Error(`node type ${type} has no object of company A in NODE_IDS: add one`);
    return id(f);
  });

const CASES: Record<string, Case[]> = {
  'Query.viewer': [
    {
      label: "B's viewer is B's company",
      call: () => ({ query: '{ viewer { id name } }' }),
      isolated: (r, f) => expect(r.data).toEqual({ viewer: { id: f.b.company, name: 'Company B' } }),
    },
  ],
  'Query.viewerRole': [
    {
      label: "B's key's own role",
      call: () => ({ query: '{ viewerRole }' }),
      isolated: (r) => expect(r.data).toEqual({ viewerRole: 'ADMIN' }),
    },
  ],
  'Query.agent': [{ label: "A's agent", call: (f) => ({ query: 'query($id: ID!) { agent(id: $id) { id name } }', variables: { id: f.a.agent } }), isolated: 'null' }],
  'Query.issue': [{ label: "A's issue", call: (f) => ({ query: 'query($id: ID!) { issue(id: $id) { id title } }', variables: { id: f.a.issue } }), isolated: 'null' }],
  'Query.run': [{ label: "A's run", call: (f) => ({ query: 'query($id: ID!) { run(id: $id) { id status } }', variables: { id: f.a.run } }), isolated: 'null' }],
  'Query.node': NODE_TYPES.map((type) => ({
    label: `A's ${type}`,
    call: (f: Fixtures) => {
      const id = NODE_IDS[type];
      if (!id) throw new Error(`node type ${type} has no object of company A in NODE_IDS: add one`);
      return { query: 'query($id: ID!) { node(id: $id) { id __typename } }', variables: { id: id(f) } };
    },
    isolated: 'null' as const,
  })),
  'Query.nodes': [
    {
      label: "every node type's id of A at once",
      call: (f) => ({ query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }', variables: { ids: allNodeIds(f) } }),
      isolated: (r) => {
        expect(r.errors).toBeUndefined();
        expect(r.data).toEqual({ nodes: NODE_TYPES.map(() => null) });
      },
    },
  ],
  'Query.agents': [{ label: "B's agents only", call: () => ({ query: '{ agents(first: 100) { edges { node { id name } } } }' }), isolated: onlyB('agents', (f) => [f.b.agent]) }],
  'Query.issues': [{ label: "B's issues only", call: () => ({ query: '{ issues(first: 100) { edges { node { id title } } } }' }), isolated: onlyB('issues', (f) => [f.b.issue]) }],
  'Query.runs': [
    { label: "B's runs only", call: () => ({ query: '{ runs(first: 100) { edges { node { id status } } } }' }), isolated: onlyB('runs', (f) => [f.b.run]) },
    {
      label: "filtered by A's agent",
      call: (f) => ({ query: 'query($f: RunFilter) { runs(first: 100, filter: $f) { edges { node { id } } } }', variables: { f: { agentId: f.a.agent } } }),
      isolated: emptyConnection('runs'),
    },
    {
      label: "filtered by A's issue",
      call: (f) => ({ query: 'query($f: RunFilter) { runs(first: 100, filter: $f) { edges { node { id } } } }', variables: { f: { issueId: f.a.issue } } }),
      isolated: emptyConnection('runs'),
    },
    {
      label: "searched by A's run id",
      call: (f) => ({ query: 'query($f: RunFilter) { runs(first: 100, filter: $f) { edges { node { id } } } }', variables: { f: { search: f.a.run } } }),
      isolated: emptyConnection('runs'),
    },
  ],
  'Query.wakeupRequests': [
    { label: "B's wakeups only", call: () => ({ query: '{ wakeupRequests(first: 100) { edges { node { id reason } } } }' }), isolated: onlyB('wakeupRequests', () => []) },
    {
      label: "filtered by A's agent",
      call: (f) => ({ query: 'query($a: ID) { wakeupRequests(first: 100, filter: { agentId: $a }) { edges { node { id } } } }', variables: { a: f.a.agent } }),
      isolated: emptyConnection('wakeupRequests'),
    },
  ],
  'Query.apiKeys': [
    {
      label: "B's keys only",
      call: () => ({ query: '{ apiKeys { id name } }' }),
      isolated: (r) => {
        expect(r.errors).toBeUndefined();
        expect((r.data?.apiKeys as Array<{ name: string }>).map((k) => k.name)).toEqual(['b admin']);
      },
    },
  ],

  'Query.costSummary': [
    {
      label: "B's cost only (B has none), per agent and model",
      call: () => ({ query: '{ costSummary(groupBy: [AGENT, MODEL]) { agent { id } model costCents } }' }),
      isolated: (r) => expect(r).toMatchObject({ data: { costSummary: [] } }),
    },
    ...(['agentId', 'issueId', 'projectId'] as const).map((key) => ({
      label: `filtered by A's ${key.slice(0, -2)}`,
      call: (f: Fixtures) => ({
        query: 'query($f: CostFilterInput) { costSummary(filter: $f) { costCents model } }',
        variables: { f: { [key]: { agentId: f.a.agent, issueId: f.a.issue, projectId: f.a.project }[key] } },
      }),
      isolated: (r: Result) => expect(r).toMatchObject({ data: { costSummary: [] } }),
    })),
  ],
  'Query.projects': [
    {
      label: "B's projects only",
      call: () => ({ query: '{ projects { id name cost { costCents } } }' }),
      isolated: (r) => expect(r.data?.projects).toEqual([{ id: expect.any(String), name: 'b-project', cost: { costCents: 0 } }]),
    },
  ],
  'Query.budgets': [{ label: "B's budgets only (none)", call: () => ({ query: '{ budgets { id scopeId } }' }), isolated: (r) => expect(r.data).toEqual({ budgets: [] }) }],
  'Query.runActivity': [
    ...([['B\'s runs only (its one run)', null, 1], ["A's agent (nothing)", 'a', 0]] as const).map(([label, agent, runs]) => ({
      label,
      call: (f: Fixtures) => ({
        query: 'query($from: DateTime!, $a: ID) { runActivity(from: $from, bucketSeconds: 86400, agentId: $a) { queued running buckets { succeeded failed cancelled timedOut started } } }',
        variables: { from: new Date(Date.now() - 86_400_000).toISOString(), a: agent ? f.a.agent : null },
      }),
      isolated: (r: Result) => {
        expect(r.errors).toBeUndefined();
        const activity = r.data?.runActivity as { queued: number; running: number; buckets: Array<Record<string, number>> };
        const sum = (key: string) => activity.buckets.reduce((total, bucket) => total + bucket[key], 0);
        expect({ started: sum('started'), finished: sum('succeeded') + sum('failed') + sum('cancelled') + sum('timedOut'), queued: activity.queued, running: activity.running }).toEqual({ started: runs, finished: runs, queued: 0, running: 0 });
      },
    })),
  ],
  'Query.adapterTypes': [
    { label: 'the same for every company', call: () => ({ query: '{ adapterTypes { type } }' }), isolated: (r) => expect((r.data?.adapterTypes as unknown[]).length).toBeGreaterThan(0) },
  ],

  'Mutation.createAgent': [
    {
      label: "creates in B's company",
      call: () => ({ query: 'mutation { createAgent(input: { name: "b-new-agent", adapterType: SCRIPT, adapterConfig: { steps: [] } }) { id company { id } } }' }),
      isolated: (r, f) => expect((r.data?.createAgent as { company: { id: string } }).company.id).toBe(f.b.company),
    },
  ],
  'Mutation.updateAgent': [
    { label: "A's agent", call: (f) => ({ query: 'mutation($id: ID!) { updateAgent(input: { id: $id, name: "hijacked" }) { id } }', variables: { id: f.a.agent } }), isolated: 'NOT_FOUND' },
  ],
  'Mutation.pauseAgent': [{ label: "A's agent", call: (f) => ({ query: 'mutation($id: ID!) { pauseAgent(id: $id) { id } }', variables: { id: f.a.agent } }), isolated: 'NOT_FOUND' }],
  'Mutation.resetAgentSession': [
    {
      label: "all of A's agent's sessions",
      call: (f) => ({ query: 'mutation($id: ID!) { resetAgentSession(input: { agentId: $id }) { removed } }', variables: { id: f.a.agent } }),
      isolated: 'NOT_FOUND',
    },
    {
      label: "one task's session of A's agent",
      call: (f) => ({ query: 'mutation($id: ID!) { resetAgentSession(input: { agentId: $id, taskKey: "a-task" }) { removed } }', variables: { id: f.a.agent } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.resumeAgent': [{ label: "A's agent", call: (f) => ({ query: 'mutation($id: ID!) { resumeAgent(id: $id) { id } }', variables: { id: f.a.agent } }), isolated: 'NOT_FOUND' }],
  'Mutation.enqueueWakeup': [
    {
      label: "A's agent",
      call: (f) => ({ query: 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a, reason: "hijack" }) { outcome } }', variables: { a: f.a.agent } }),
      isolated: 'NOT_FOUND',
    },
    {
      // The engine skips a wakeup whose issue is not in the agent's company, exactly as for an issue
      // that does not exist: no run, no lock on A's issue, and no way to tell A's issue from none.
      label: "B's agent on A's issue",
      call: (f) => ({ query: ENQUEUE_ON_ISSUE, variables: { a: f.b.agent, i: f.a.issue } }),
      isolated: async (r, f, server) => {
        expect(r.errors).toBeUndefined();
        const missing = await postGraphQL(server.graphqlUrl, ENQUEUE_ON_ISSUE, {
          key: f.b.key,
          variables: { a: f.b.agent, i: encodeGlobalId('Issue', '00000000-0000-4000-8000-000000000000') },
        });
        expect(r.data).toEqual({ enqueueWakeup: { outcome: 'SKIPPED', run: null, wakeupRequest: { status: 'SKIPPED', error: null } } });
        expect(missing.body.data).toEqual(r.data);
      },
    },
  ],
  'Mutation.retryRun': [{ label: "A's run", call: (f) => ({ query: 'mutation($id: ID!) { retryRun(id: $id) { outcome } }', variables: { id: f.a.run } }), isolated: 'NOT_FOUND' }],
  'Mutation.cancelRun': [{ label: "A's run", call: (f) => ({ query: 'mutation($id: ID!) { cancelRun(id: $id) { id } }', variables: { id: f.a.run } }), isolated: 'NOT_FOUND' }],
  'Mutation.snoozeRunSilence': [
    {
      label: "A's run",
      call: (f) => ({ query: 'mutation($id: ID!, $u: DateTime!) { snoozeRunSilence(id: $id, until: $u) { id } }', variables: { id: f.a.run, u: new Date(Date.now() + 3_600_000).toISOString() } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.dismissRunSilence': [{ label: "A's run", call: (f) => ({ query: 'mutation($id: ID!) { dismissRunSilence(id: $id) { id } }', variables: { id: f.a.run } }), isolated: 'NOT_FOUND' }],
  'Mutation.createIssue': [
    {
      label: "assigned to A's agent",
      call: (f) => ({ query: 'mutation($a: ID) { createIssue(input: { title: "b-issue", assigneeAgentId: $a }) { issue { id } } }', variables: { a: f.a.agent } }),
      isolated: 'NOT_FOUND',
    },
    {
      label: "in A's project",
      call: (f) => ({ query: 'mutation($p: ID) { createIssue(input: { title: "b-issue", projectId: $p }) { issue { id } } }', variables: { p: f.a.project } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.updateIssue': [
    { label: "A's issue", call: (f) => ({ query: 'mutation($id: ID!) { updateIssue(input: { id: $id, status: CANCELLED }) { id } }', variables: { id: f.a.issue } }), isolated: 'NOT_FOUND' },
    {
      label: "B's issue into A's project",
      call: (f) => ({ query: 'mutation($id: ID!, $p: ID) { updateIssue(input: { id: $id, projectId: $p }) { id } }', variables: { id: f.b.issue, p: f.a.project } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.createProject': [
    {
      label: "creates in B's company",
      call: () => ({ query: 'mutation { createProject(input: { name: "b-new-project" }) { id } }' }),
      isolated: async (r, f, server) => {
        const { body } = await postGraphQL<{ projects: Array<{ id: string }> }>(server.graphqlUrl, '{ projects { id } }', { key: f.b.key });
        expect(body.data!.projects).toContainEqual(r.data?.createProject);
      },
    },
  ],
  'Mutation.setBudget': [
    ...([['AGENT', 'agent'], ['PROJECT', 'project'], ['COMPANY', 'company']] as const).map(([scope, key]) => ({
      label: `for A's ${key}`,
      call: (f: Fixtures) => ({
        query: 'mutation($i: SetBudgetInput!) { setBudget(input: $i) { id } }',
        variables: { i: { scope, scopeId: f.a[key], period: 'MONTH', limitCents: 0 } },
      }),
      isolated: 'NOT_FOUND' as const,
    })),
  ],
  'Mutation.deleteBudget': [{ label: "A's budget", call: (f) => ({ query: 'mutation($id: ID!) { deleteBudget(id: $id) }', variables: { id: f.a.budget } }), isolated: 'NOT_FOUND' }],
  'Mutation.assignIssue': [
    {
      label: "A's issue to B's agent",
      call: (f) => ({ query: 'mutation($i: ID!, $a: ID) { assignIssue(input: { issueId: $i, agentId: $a }) { issue { id } } }', variables: { i: f.a.issue, a: f.b.agent } }),
      isolated: 'NOT_FOUND',
    },
    {
      label: "B's issue to A's agent",
      call: (f) => ({ query: 'mutation($i: ID!, $a: ID) { assignIssue(input: { issueId: $i, agentId: $a }) { issue { id } } }', variables: { i: f.b.issue, a: f.a.agent } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.addIssueComment': [
    { label: "A's issue", call: (f) => ({ query: 'mutation($i: ID!) { addIssueComment(input: { issueId: $i, body: "hijack" }) { comment { id } } }', variables: { i: f.a.issue } }), isolated: 'NOT_FOUND' },
  ],
  'Mutation.putIssueDocument': [
    {
      label: "A's issue",
      call: (f) => ({ query: 'mutation($i: ID!) { putIssueDocument(input: { issueId: $i, key: "plan", body: "hijack" }) { id } }', variables: { i: f.a.issue } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.addIssueBlocker': [
    {
      label: "B's issue blocked by A's issue",
      call: (f) => ({ query: 'mutation($i: ID!, $b: ID!) { addIssueBlocker(input: { issueId: $i, blockerIssueId: $b }) { id } }', variables: { i: f.b.issue, b: f.a.issue } }),
      isolated: 'NOT_FOUND',
    },
    {
      label: "A's issue blocked by B's issue",
      call: (f) => ({ query: 'mutation($i: ID!, $b: ID!) { addIssueBlocker(input: { issueId: $i, blockerIssueId: $b }) { id } }', variables: { i: f.a.issue, b: f.b.issue } }),
      isolated: 'NOT_FOUND',
    },
  ],
  'Mutation.createApiKey': [
    {
      label: "creates a key of B's company",
      call: () => ({ query: 'mutation { createApiKey(name: "b second", role: ADMIN) { key } }' }),
      isolated: async (r, f, server) => {
        const key = (r.data?.createApiKey as { key: string }).key;
        const { body } = await postGraphQL(server.graphqlUrl, '{ viewer { id } }', { key });
        expect(body.data).toEqual({ viewer: { id: f.b.company } });
      },
    },
  ],
  'Mutation.revokeApiKey': [
    {
      label: "A's key",
      call: (f) => ({ query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', variables: { id: f.a.apiKey } }),
      isolated: async (r, f, server) => {
        notFoundAt('revokeApiKey')(r);
        const { status } = await postGraphQL(server.graphqlUrl, '{ viewer { id } }', { key: f.a.key });
        expect(status).toBe(200);
      },
    },
  ],

  'Subscription.runEvents': [
    { label: "A's run", call: (f) => ({ query: 'subscription($id: ID!) { runEvents(runId: $id) { seq } }', variables: { id: f.a.run } }), isolated: 'NOT_FOUND' },
  ],
  'Subscription.runStatus': [
    { label: "A's run", call: (f) => ({ query: 'subscription($id: ID) { runStatus(runId: $id) { id } }', variables: { id: f.a.run } }), isolated: 'NOT_FOUND' },
    { label: "A's agent", call: (f) => ({ query: 'subscription($id: ID) { runStatus(agentId: $id) { id } }', variables: { id: f.a.agent } }), isolated: 'NOT_FOUND' },
    { label: "A's issue", call: (f) => ({ query: 'subscription($id: ID) { runStatus(issueId: $id) { id } }', variables: { id: f.a.issue } }), isolated: 'NOT_FOUND' },
  ],
};

const ROOT_TYPES = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(isObjectType);
const ROOT_FIELDS = ROOT_TYPES.flatMap((type) => Object.keys(type.getFields()).map((field) => `${type.name}.${field}`));

describe('tenant isolation: company B against company A', () => {
  let server: TestServer;
  let f: Fixtures;
  let socket: RawSocket;
  let snapshotOfA: Record<string, string>;

  /** Every row of company A, table by table, as digests. */
  async function rowsOfA(companyId: string) {
    const tables = [
      'api_keys', 'agents', 'agent_runtime_state', 'agent_task_sessions', 'issues', 'issue_relations', 'issue_comments', 'issue_documents',
      'issue_document_revisions', 'agent_wakeup_requests', 'heartbeat_runs', 'heartbeat_run_events', 'activity_log', 'projects', 'cost_events', 'budgets',
    ];
    const digests: Record<string, string> = {};
    const digest = async (from: string, where: ReturnType<typeof sql>) =>
      (await server.database.db.execute<{ d: string }>(sql`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as d from ${sql.raw(from)} t where ${where}`))[0].d;
    digests.companies = await digest('companies', sql`t.id = ${companyId}`);
    for (const table of tables) digests[table] = await digest(table, sql`t.company_id = ${companyId}`);
    return digests;
  }

  beforeAll(async () => {
    server = await startTestServer({ env: { HEARTBEAT_MUTATION_RATE: '10000', HEARTBEAT_MUTATION_BURST: '10000', HEARTBEAT_COMPANY_NAME: A_COMPANY } });
    const { db } = server.database;

    // Company A (the bootstrap company): one object of every kind.
    const aKey = server.adminKey;
    const agent = (await gql(server, `mutation { createAgent(input: { name: "${A_AGENT_NAME}", adapterType: SCRIPT, adapterConfig: { steps: [{ log: "a" }] } }) { id } }`, {}, aKey)).createAgent.id;
    const project = (await gql(server, `mutation { createProject(input: { name: "${A_PROJECT}" }) { id } }`, {}, aKey)).createProject.id;
    const issue = (await gql(server, 'mutation($p: ID) { createIssue(input: { title: "' + A_ISSUE_TITLE + '", projectId: $p }) { issue { id } } }', { p: project }, aKey)).createIssue.issue.id;
    const wake = (await gql(server, 'mutation($a: ID!, $i: ID) { enqueueWakeup(input: { agentId: $a, issueId: $i }) { wakeupRequest { id } run { id } } }', { a: agent, i: issue }, aKey)).enqueueWakeup;
    const comment = (await gql(server, `mutation($i: ID!) { addIssueComment(input: { issueId: $i, body: "${A_COMMENT}" }) { comment { id } } }`, { i: issue }, aKey)).addIssueComment.comment.id;
    const document = (await gql(server, `mutation($i: ID!) { putIssueDocument(input: { issueId: $i, key: "plan", body: "${A_DOCUMENT}" }) { id } }`, { i: issue }, aKey)).putIssueDocument.id;
    const extraKey = (await gql(server, 'mutation { createApiKey(name: "a viewer", role: VIEWER) { id key } }', {}, aKey)).createApiKey;
    // A session of A's agent, which B's resetAgentSession must not remove.
    await db.insert(agentTaskSessions).values({ companyId: server.companyId, agentId: rawId(agent), adapterType: 'script', taskKey: 'a-task', sessionParams: { sessionId: A_SESSION } });

    // Company B: its own admin key, agent, issue and run.
    const [companyB] = await db.insert(companies).values({ name: 'Company B' }).returning();
    const bKey = (await createApiKey(db, { companyId: companyB.id, name: 'b admin', role: 'admin' })).key;
    const bAgent = (await gql(server, 'mutation { createAgent(input: { name: "b-agent", adapterType: SCRIPT, adapterConfig: { steps: [] } }) { id } }', {}, bKey)).createAgent.id;
    const bIssue = (await gql(server, 'mutation { createIssue(input: { title: "b-issue" }) { issue { id } } }', {}, bKey)).createIssue.issue.id;
    const bRun = (await gql(server, 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a }) { run { id } } }', { a: bAgent }, bKey)).enqueueWakeup.run.id;
    await gql(server, 'mutation { createProject(input: { name: "b-project" }) { id } }', {}, bKey);

    for (const run of [wake.run.id, bRun]) await runFinished(server, rawId(run));
    await waitFor('every run to settle', async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from heartbeat_runs where settled_at is null`))[0].n === 0);
    // What A's run cost, and a budget of A's agent far above it (it blocks nothing).
    await db.insert(costEvents).values({
      companyId: server.companyId, runId: rawId(wake.run.id), agentId: rawId(agent), issueId: rawId(issue), projectId: rawId(project),
      provider: 'anthropic', biller: 'anthropic', billingType: 'metered_api', model: A_MODEL, inputTokens: 100, costCents: 42, occurredAt: new Date(),
    });
    const budget = (await gql(server, 'mutation($a: ID) { setBudget(input: { scope: AGENT, scopeId: $a, period: ALL_TIME, limitCents: 1000000 }) { id } }', { a: agent }, aKey)).setBudget.id;

    const company = encodeGlobalId('Company', server.companyId);
    const apiKey = extraKey.id;
    const aIds = [company, agent, issue, wake.run.id, wake.wakeupRequest.id, comment, document, apiKey, project, budget];
    f = {
      a: { company, agent, issue, run: wake.run.id, wakeup: wake.wakeupRequest.id, comment, document, apiKey, key: extraKey.key, project, budget },
      b: { company: encodeGlobalId('Company', companyB.id), agent: bAgent, issue: bIssue, run: bRun, key: bKey },
      secrets: [...aIds, ...aIds.map(rawId), A_AGENT_NAME, A_ISSUE_TITLE, A_COMMENT, A_DOCUMENT, A_COMPANY, A_SESSION, A_PROJECT, A_MODEL],
    };
    snapshotOfA = await rowsOfA(server.companyId);
    socket = await openAcked(server.wsUrl, bKey);
  }, 60_000);
  afterAll(async () => {
    await socket?.close();
    await server?.close();
  });

  /** B's key runs the call: over HTTP, or as a subscription over B's WebSocket. */
  let subscriptionIds = 0;
  async function run(rootType: string, call: Call): Promise<Result> {
    if (rootType !== 'Subscription') {
      const { status, body } = await postGraphQL(server.graphqlUrl, call.query, { key: f.b.key, variables: call.variables });
      return { status, data: body.data as Result['data'], errors: body.errors };
    }
    const id = `s${++subscriptionIds}`;
    const watchers = server.app.hub.size;
    socket.send({ id, type: 'subscribe', payload: call });
    const first = await socket.next((m) => m.id === id);
    if (first.type === 'error') return { errors: first.payload as Result['errors'] };
    expect(first.type).toBe('next');
    // Refused at subscribe time: the error result is followed by completion, and no watcher was registered.
    await socket.next((m) => m.id === id && m.type === 'complete');
    expect(server.app.hub.size).toBe(watchers);
    return first.payload as Result;
  }

  it('every root field of Query, Mutation and Subscription has a tenant-isolation case', () => {
    const missing = ROOT_FIELDS.filter((field) => !CASES[field]);
    expect(missing.map((field) => `root field ${field} has no tenant-isolation case: add one`)).toEqual([]);
    const stale = Object.keys(CASES).filter((field) => !ROOT_FIELDS.includes(field));
    expect(stale.map((field) => `CASES has ${field}, which is not a root field any more`)).toEqual([]);
  });

  it('every node type has an object of company A to try', () => {
    expect(NODE_TYPES.filter((type) => !NODE_IDS[type]).map((type) => `node type ${type} has no object of company A in NODE_IDS: add one`)).toEqual([]);
  });

  for (const field of ROOT_FIELDS) {
    const [rootType, name] = field.split('.');
    it(`${field} does not reach company A's objects`, async () => {
      const cases = CASES[field];
      if (!cases) throw new Error(`root field ${field} has no tenant-isolation case: add one`);
      for (const testCase of cases) {
        const what = `${field} (${testCase.label})`;
        const result = await run(rootType, testCase.call(f));
        if (testCase.isolated === 'null') {
          expect(result.errors, what).toBeUndefined();
          expect(result.data, what).toEqual({ [name]: null });
        } else if (testCase.isolated === 'NOT_FOUND' || testCase.isolated === 'FORBIDDEN') {
          expect(result.errors?.map((e) => e.extensions?.code), what).toEqual([testCase.isolated]);
          expect(result.data?.[name] ?? null, what).toBeNull();
        } else {
          await testCase.isolated(result, f, server);
        }
        // Nothing of A in what B got back (error messages may echo the id B sent, not A's data).
        const data = JSON.stringify(result.data ?? null);
        const messages = JSON.stringify((result.errors ?? []).map((e) => e.message));
        for (const secret of f.secrets) {
          expect(data.includes(secret), `${what}: the data holds ${secret} of company A`).toBe(false);
        }
        for (const text of [A_AGENT_NAME, A_ISSUE_TITLE, A_COMMENT, A_DOCUMENT, A_COMPANY, A_PROJECT, A_MODEL]) {
          expect(messages.includes(text), `${what}: an error message holds ${text}`).toBe(false);
        }
      }
    });
  }

  it("node and nodes answer an id that exists nowhere exactly like A's ids (null), so B cannot probe which ids exist", async () => {
    for (const type of NODE_TYPES) {
      const nowhere = encodeGlobalId(type, '00000000-0000-4000-8000-00000000beef');
      const theirs = NODE_IDS[type](f);
      const answers = [];
      for (const id of [theirs, nowhere]) {
        const { body } = await postGraphQL(server.graphqlUrl, 'query($id: ID!, $ids: [ID!]!) { node(id: $id) { id } nodes(ids: $ids) { id } }', {
          key: f.b.key,
          variables: { id, ids: [f.b.agent, id] },
        });
        answers.push(body);
      }
      expect(answers[0], `${type}: A's id ${JSON.stringify(answers[0])}`).toEqual({ data: { node: null, nodes: [{ id: f.b.agent }, null] } });
      expect(answers[1], `${type}: an id that exists nowhere must look the same as A's ${JSON.stringify(answers[1])}`).toEqual(answers[0]);
    }
  });

  it("leaves every row of company A unchanged after all of B's attempts", async () => {
    await waitFor('every run to settle', async () => (await server.database.db.execute<{ n: number }>(sql`select count(*)::int as n from heartbeat_runs where settled_at is null`))[0].n === 0);
    expect(await rowsOfA(server.companyId)).toEqual(snapshotOfA);
  });

  it("a company-wide runStatus subscription of B sees none of A's runs", async () => {
    const id = 'company-wide';
    const watchers = server.app.hub.size;
    socket.send({ id, type: 'subscribe', payload: { query: 'subscription { runStatus { id status settledAt } }' } });
    await waitFor('B to be watching', () => server.app.hub.size === watchers + 1);
    // A run of A from start to settlement, then a run of B: B's subscription must see B's run only.
    const aRun = (await gql(server, 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a, reason: "a again" }) { run { id } } }', { a: f.a.agent })).enqueueWakeup.run.id;
    await runFinished(server, rawId(aRun));
    await waitFor("A's run to settle", async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: rawId(aRun) } }))?.settledAt);
    const bRun = (await gql(server, 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a }) { run { id } } }', { a: f.b.agent }, f.b.key)).enqueueWakeup.run.id;
    await socket.next((m) => m.id === id && (m.payload as { data?: { runStatus?: { id: string; settledAt: string | null } } }).data?.runStatus?.id === bRun && !!(m.payload as { data: { runStatus: { settledAt: string | null } } }).data.runStatus.settledAt, 20_000);
    const seen = socket.messages.filter((m) => m.id === id).map((m) => (m.payload as { data: { runStatus: { id: string } } }).data.runStatus.id);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([bRun]));
    socket.send({ id, type: 'complete' });
    await waitFor('the hub to let go', () => server.app.hub.size === watchers);
  });

});
