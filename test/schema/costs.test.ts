// Cost, projects and budgets through the API: the ledger summed per issue and per day, a run's cost,
// an issue's, an agent's and a project's; projects and issues in them; budgets set by admins only,
// their status as spending grows, refusals that change nothing, and a wakeup refused by a spent budget.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies, costEvents, heartbeatRuns } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { agentGid, createAgent, gql, gqlFailure, issueGid, rawId, runGid } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const db = () => server.database.db;

type CostEvent = typeof costEvents.$inferInsert;

/** A finished run of the agent with its cost event, written directly (as the finish writes it). */
async function seedCost(companyId: string, event: Omit<CostEvent, 'companyId' | 'runId' | 'biller' | 'billingType'> & Partial<CostEvent>) {
  const [run] = await db()
    .insert(heartbeatRuns)
    .values({ companyId, agentId: event.agentId, issueId: event.issueId ?? null, status: 'succeeded', startedAt: event.occurredAt, finishedAt: event.occurredAt })
    .returning({ id: heartbeatRuns.id });
  await db()
    .insert(costEvents)
    .values({ biller: event.provider ?? 'unknown', billingType: 'metered_api', ...event, companyId, runId: run.id });
  return run.id;
}

const projectGid = (id: string) => encodeGlobalId('Project', id);
const CREATE_PROJECT = 'mutation($name: String!) { createProject(input: { name: $name }) { id name } }';
const CREATE_ISSUE = 'mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { id project { id name } } } }';
const SUMMARY = `query($filter: CostFilterInput, $groupBy: [CostGroup!]) {
  costSummary(filter: $filter, groupBy: $groupBy) { agent { name } issue { identifier } project { name } model provider day costCents costUsd inputTokens cachedInputTokens outputTokens runs }
}`;
const TOTALS = 'costCents costUsd inputTokens cachedInputTokens outputTokens runs';

describe('the cost ledger', () => {
  let coder: string;
  let reviewer: string;
  let fixIssue: string;
  let docsIssue: string;
  let project: string;
  let billedRun: string;

  beforeAll(async () => {
    coder = await createAgent(server, { name: 'coder' });
    reviewer = await createAgent(server, { name: 'reviewer' });
    project = (await gql(server, CREATE_PROJECT, { name: 'Website' })).createProject.id;
    const fix = await gql(server, CREATE_ISSUE, { input: { title: 'Fix the dates', projectId: project } });
    expect(fix.createIssue.issue.project).toEqual({ id: project, name: 'Website' });
    fixIssue = rawId(fix.createIssue.issue.id);
    docsIssue = rawId((await gql(server, CREATE_ISSUE, { input: { title: 'Write the docs' } })).createIssue.issue.id);

    const companyId = server.companyId;
    const metered = { provider: 'anthropic', biller: 'anthropic', model: 'claude-sonnet-4', billingType: 'metered_api' as const };
    billedRun = await seedCost(companyId, {
      ...metered, agentId: coder, issueId: fixIssue, projectId: rawId(project),
      inputTokens: 1_000, cachedInputTokens: 5_000, outputTokens: 200, costUsd: 1.2, costCents: 120, occurredAt: new Date('2026-11-20T10:00:00Z'),
    });
    await seedCost(companyId, {
      ...metered, agentId: coder, issueId: fixIssue, projectId: rawId(project),
      inputTokens: 400, cachedInputTokens: 0, outputTokens: 100, costUsd: 0.8, costCents: 80, occurredAt: new Date('2026-11-21T23:59:00Z'),
    });
    // A subscription run: tokens, no cents.
    await seedCost(companyId, {
      agentId: reviewer, issueId: docsIssue, provider: 'openai', biller: 'chatgpt', billingType: 'subscription_included', model: 'gpt-5-codex',
      inputTokens: 3_000, cachedInputTokens: 1_000, outputTokens: 300, costUsd: null, costCents: 0, occurredAt: new Date('2026-11-21T08:00:00Z'),
    });
  });

  it('costSummary sums per issue, biggest first, with each issue; per UTC day within from and to; and over a project', async () => {
    const byIssue = (await gql(server, SUMMARY, { groupBy: ['ISSUE'] })).costSummary;
    expect(byIssue).toEqual([
      { agent: null, issue: { identifier: expect.any(String) }, project: null, model: null, provider: null, day: null, costCents: 200, costUsd: 2, inputTokens: 1_400, cachedInputTokens: 5_000, outputTokens: 300, runs: 2 },
      { agent: null, issue: { identifier: expect.any(String) }, project: null, model: null, provider: null, day: null, costCents: 0, costUsd: 0, inputTokens: 3_000, cachedInputTokens: 1_000, outputTokens: 300, runs: 1 },
    ]);
    const issues = await gql(server, 'query($a: ID!, $b: ID!) { a: issue(id: $a) { identifier } b: issue(id: $b) { identifier } }', { a: issueGid(fixIssue), b: issueGid(docsIssue) });
    expect(byIssue.map((bucket: { issue: { identifier: string } }) => bucket.issue.identifier)).toEqual([issues.a.identifier, issues.b.identifier]);

    const byDay = (await gql(server, SUMMARY, { groupBy: ['DAY'], filter: { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' } })).costSummary;
    expect(byDay.map((b: { day: string; costCents: number; runs: number }) => [b.day, b.costCents, b.runs])).toEqual([
      ['2026-11-20', 120, 1],
      ['2026-11-21', 80, 2],
    ]);
    // `to` is exclusive: the 21st from its start on is left out.
    const before = (await gql(server, SUMMARY, { groupBy: ['DAY'], filter: { to: '2026-11-21T00:00:00Z' } })).costSummary;
    expect(before.map((b: { day: string }) => b.day)).toEqual(['2026-11-20']);

    const perAgentAndModel = (await gql(server, SUMMARY, { groupBy: ['AGENT', 'MODEL'], filter: { projectId: project } })).costSummary;
    expect(perAgentAndModel).toEqual([expect.objectContaining({ agent: { name: 'coder' }, model: 'claude-sonnet-4', project: null, costCents: 200, runs: 2 })]);
    const total = (await gql(server, SUMMARY, {})).costSummary;
    expect(total).toEqual([expect.objectContaining({ costCents: 200, inputTokens: 4_400, runs: 3 })]);
    const nothing = (await gql(server, SUMMARY, { filter: { from: '2020-01-01T00:00:00Z', to: '2020-02-01T00:00:00Z' } })).costSummary;
    expect(nothing).toEqual([]);
    const backwards = await gqlFailure(gql(server, SUMMARY, { filter: { from: '2026-12-01T00:00:00Z', to: '2026-11-01T00:00:00Z' } }));
    expect(backwards.code).toBe('BAD_USER_INPUT');
  });

  it("HeartbeatRun.cost is the run's ledger entry; null for a run that cost nothing", async () => {
    const [unbilled] = await db().insert(heartbeatRuns).values({ companyId: server.companyId, agentId: coder, status: 'succeeded' }).returning({ id: heartbeatRuns.id });
    const query = 'query($a: ID!, $b: ID!) { a: run(id: $a) { cost { costCents costUsd inputTokens cachedInputTokens outputTokens billingType provider biller model } } b: run(id: $b) { cost { costCents } } }';
    const data = await gql(server, query, { a: runGid(billedRun), b: runGid(unbilled.id) });
    expect(data.a.cost).toEqual({
      costCents: 120, costUsd: 1.2, inputTokens: 1_000, cachedInputTokens: 5_000, outputTokens: 200, billingType: 'METERED_API', provider: 'anthropic', biller: 'anthropic', model: 'claude-sonnet-4',
    });
    expect(data.b.cost).toBeNull();
  });

  it('Issue.cost, Agent.cost (all time, or from and to) and Project.cost, with the project and its issues', async () => {
    const data = await gql(
      server,
      `query($fix: ID!, $docs: ID!, $coder: ID!, $reviewer: ID!) {
        fix: issue(id: $fix) { cost { ${TOTALS} } project { name cost { costCents runs } issues(first: 10) { totalCount edges { node { id } } } } }
        docs: issue(id: $docs) { cost { costCents inputTokens runs } project { id } }
        coder: agent(id: $coder) { all: cost { ${TOTALS} } lateNovember: cost(from: "2026-11-21T00:00:00Z", to: "2026-12-01T00:00:00Z") { costCents runs } }
        reviewer: agent(id: $reviewer) { cost { costCents inputTokens runs } }
      }`,
      { fix: issueGid(fixIssue), docs: issueGid(docsIssue), coder: agentGid(coder), reviewer: agentGid(reviewer) },
    );
    expect(data.fix.cost).toEqual({ costCents: 200, costUsd: 2, inputTokens: 1_400, cachedInputTokens: 5_000, outputTokens: 300, runs: 2 });
    expect(data.fix.project).toEqual({ name: 'Website', cost: { costCents: 200, runs: 2 }, issues: { totalCount: 1, edges: [{ node: { id: issueGid(fixIssue) } }] } });
    expect(data.docs).toEqual({ cost: { costCents: 0, inputTokens: 3_000, runs: 1 }, project: null });
    expect(data.coder.all).toEqual(data.fix.cost);
    expect(data.coder.lateNovember).toEqual({ costCents: 80, runs: 1 });
    expect(data.reviewer.cost).toEqual({ costCents: 0, inputTokens: 3_000, runs: 1 });
  });

  it('projects: listed by name; a duplicate or empty name is refused; updateIssue moves an issue in and out', async () => {
    await gql(server, CREATE_PROJECT, { name: 'API' });
    expect((await gql(server, '{ projects { name } }')).projects).toEqual([{ name: 'API' }, { name: 'Website' }]);
    expect((await gqlFailure(gql(server, CREATE_PROJECT, { name: ' Website ' }))).code).toBe('CONFLICT');
    expect((await gqlFailure(gql(server, CREATE_PROJECT, { name: '  ' }))).code).toBe('BAD_USER_INPUT');

    const UPDATE = 'mutation($input: UpdateIssueInput!) { updateIssue(input: $input) { project { name } } }';
    expect((await gql(server, UPDATE, { input: { id: issueGid(docsIssue), projectId: project } })).updateIssue.project).toEqual({ name: 'Website' });
    // Left out: unchanged; null: out of its project.
    expect((await gql(server, UPDATE, { input: { id: issueGid(docsIssue), title: 'Write the docs, again' } })).updateIssue.project).toEqual({ name: 'Website' });
    expect((await gql(server, UPDATE, { input: { id: issueGid(docsIssue), projectId: null } })).updateIssue.project).toBeNull();
    const missing = projectGid('00000000-0000-4000-8000-000000000000');
    expect((await gqlFailure(gql(server, CREATE_ISSUE, { input: { title: 'Nowhere', projectId: missing } }))).code).toBe('NOT_FOUND');
    expect((await gqlFailure(gql(server, CREATE_ISSUE, { input: { title: 'Not a project', projectId: agentGid(coder) } }))).code).toBe('BAD_USER_INPUT');
  });
});

describe('budgets', () => {
  /** A company of its own: its budgets block nothing of the ledger tests. */
  let companyId: string;
  const keys = { admin: '', operator: '', viewer: '' };
  let agent: string;
  const as = (key: string) => <T = any>(query: string, variables?: Record<string, unknown>) => gql<T>(server, query, variables, key);

  const SET = 'mutation($input: SetBudgetInput!) { setBudget(input: $input) { id scope scopeId period limitCents warnPercent spentCents status } }';
  const LIST = '{ budgets { id scope scopeId period limitCents warnPercent spentCents status } }';
  const budgetRows = async () => (await db().execute<{ digest: string }>(sql`select md5(coalesce(string_agg(b::text, '|' order by b.id), '')) as digest from budgets b`))[0].digest;
  const spend = (cents: number) => seedCost(companyId, { agentId: agent, costCents: cents, inputTokens: 10, occurredAt: new Date() });

  beforeAll(async () => {
    [{ id: companyId }] = await db().insert(companies).values({ name: 'Budget Co' }).returning({ id: companies.id });
    for (const role of ['admin', 'operator', 'viewer'] as const) keys[role] = (await createApiKey(db(), { companyId, name: role, role })).key;
    agent = rawId((await as(keys.admin)('mutation { createAgent(input: { name: "spender", adapterType: SCRIPT, adapterConfig: { steps: [] } }) { id } }')).createAgent.id);
  });

  it('an admin sets a company budget: OK, then WARNING, then BLOCKED as spending grows; any key reads it', async () => {
    const company = encodeGlobalId('Company', companyId);
    const set = (await as(keys.admin)(SET, { input: { scope: 'COMPANY', period: 'MONTH', limitCents: 1_000, warnPercent: 50 } })).setBudget;
    expect(set).toEqual({ id: expect.any(String), scope: 'COMPANY', scopeId: company, period: 'MONTH', limitCents: 1_000, warnPercent: 50, spentCents: 0, status: 'OK' });
    await spend(600);
    expect((await as(keys.viewer)(LIST)).budgets).toEqual([{ ...set, spentCents: 600, status: 'WARNING' }]);
    // Last month's spending does not count for this month's budget.
    await seedCost(companyId, { agentId: agent, costCents: 5_000, occurredAt: new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 0, 12)) });
    await spend(500);
    expect((await as(keys.operator)(LIST)).budgets).toEqual([{ ...set, spentCents: 1_100, status: 'BLOCKED' }]);
    // Reading costs is any key's too.
    expect((await as(keys.viewer)('{ costSummary(groupBy: [AGENT]) { agent { name } costCents } }')).costSummary).toEqual([{ agent: { name: 'spender' }, costCents: 6_100 }]);
  });

  it('a wakeup in a blocked scope is BUDGET_EXCEEDED, naming the budget and its scope, and stored skipped; a higher limit unblocks', async () => {
    const [blocked] = (await as(keys.admin)(LIST)).budgets.filter((b: { scope: string }) => b.scope === 'COMPANY');
    expect(blocked.status).toBe('BLOCKED');
    const WAKE = 'mutation($a: ID!) { enqueueWakeup(input: { agentId: $a, reason: "more work" }) { outcome } }';
    const refused = await gqlFailure(as(keys.operator)(WAKE, { a: agentGid(agent) }));
    expect(refused.errors[0].extensions).toEqual({
      code: 'BUDGET_EXCEEDED', reason: 'budget.blocked', budgetId: blocked.id, scope: 'company', scopeId: encodeGlobalId('Company', companyId), period: 'month', limitCents: 1_000, spentCents: 1_100,
    });
    const wake = await db().query.wakeupRequests.findFirst({ where: { agentId: agent }, orderBy: { requestedAt: 'desc' } });
    expect(wake).toMatchObject({ status: 'skipped', reason: 'budget.blocked' });

    const raised = (await as(keys.admin)(SET, { input: { scope: 'COMPANY', period: 'MONTH', limitCents: 5_000 } })).setBudget;
    expect(raised).toMatchObject({ id: blocked.id, limitCents: 5_000, warnPercent: 80, spentCents: 1_100, status: 'OK' });
    expect((await as(keys.operator)(WAKE, { a: agentGid(agent) })).enqueueWakeup.outcome).toBe('QUEUED');
  });

  it('agent and project budgets name their scope by global id; a negative limit, an unknown or mistyped scopeId are typed errors that change nothing', async () => {
    const forAgent = (await as(keys.admin)(SET, { input: { scope: 'AGENT', scopeId: agentGid(agent), period: 'ALL_TIME', limitCents: 1_000_000 } })).setBudget;
    expect(forAgent).toMatchObject({ scope: 'AGENT', scopeId: agentGid(agent), period: 'ALL_TIME', spentCents: 6_100, status: 'OK' });
    const project = (await as(keys.admin)(CREATE_PROJECT, { name: 'Budgeted' })).createProject.id;
    const forProject = (await as(keys.admin)(SET, { input: { scope: 'PROJECT', scopeId: project, period: 'MONTH', limitCents: 0 } })).setBudget;
    // A limit of 0 is spent at once.
    expect(forProject).toMatchObject({ scope: 'PROJECT', scopeId: project, spentCents: 0, status: 'BLOCKED' });
    expect((await as(keys.viewer)(LIST)).budgets.map((b: { scope: string }) => b.scope)).toEqual(['COMPANY', 'AGENT', 'PROJECT']);

    const before = await budgetRows();
    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ scope: 'AGENT', scopeId: agentGid(agent), period: 'MONTH', limitCents: -1 }, 'BAD_USER_INPUT'],
      [{ scope: 'AGENT', scopeId: agentGid(agent), period: 'MONTH', limitCents: 100, warnPercent: 101 }, 'BAD_USER_INPUT'],
      [{ scope: 'AGENT', scopeId: agentGid('00000000-0000-4000-8000-000000000000'), period: 'MONTH', limitCents: 100 }, 'NOT_FOUND'],
      [{ scope: 'PROJECT', scopeId: projectGid('00000000-0000-4000-8000-000000000000'), period: 'MONTH', limitCents: 100 }, 'NOT_FOUND'],
      [{ scope: 'AGENT', scopeId: project, period: 'MONTH', limitCents: 100 }, 'BAD_USER_INPUT'],
      [{ scope: 'AGENT', period: 'MONTH', limitCents: 100 }, 'BAD_USER_INPUT'],
      [{ scope: 'COMPANY', scopeId: encodeGlobalId('Company', server.companyId), period: 'MONTH', limitCents: 100 }, 'NOT_FOUND'],
    ];
    for (const [input, code] of refusals) {
      const refused = await gqlFailure(as(keys.admin)(SET, { input }));
      expect(refused.code, JSON.stringify(input)).toBe(code);
    }
    expect(await budgetRows()).toBe(before);
  });

  it('operator and viewer keys may not set or delete budgets (FORBIDDEN, nothing changes); an admin deletes one, then it is not found', async () => {
    const [budget] = (await as(keys.admin)(LIST)).budgets;
    const before = await budgetRows();
    for (const key of [keys.operator, keys.viewer]) {
      const set = await gqlFailure(as(key)(SET, { input: { scope: 'COMPANY', period: 'MONTH', limitCents: 1 } }));
      expect(set.code).toBe('FORBIDDEN');
      const deleted = await gqlFailure(as(key)('mutation($id: ID!) { deleteBudget(id: $id) }', { id: budget.id }));
      expect(deleted.code).toBe('FORBIDDEN');
    }
    expect(await budgetRows()).toBe(before);

    expect(await as(keys.admin)('mutation($id: ID!) { deleteBudget(id: $id) }', { id: budget.id })).toEqual({ deleteBudget: true });
    expect((await as(keys.admin)(LIST)).budgets.map((b: { id: string }) => b.id)).not.toContain(budget.id);
    expect((await gqlFailure(as(keys.admin)('mutation($id: ID!) { deleteBudget(id: $id) }', { id: budget.id }))).code).toBe('NOT_FOUND');
  });
});
