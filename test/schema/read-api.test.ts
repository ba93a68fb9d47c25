// The read side: run pages with filters and stable cursors, their cost in SQL statements, and the
// run's computed parts (liveness, retry lineage, events, log, result).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns, runEvents } from '../../db/schema.ts';
import { agentGid, createAgent, createIssue, enqueue, gql, issueGid, rawId, runFinished, runGid } from '../support/api.ts';
import { recordRequestStatements } from '../support/request-statements.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let server: TestServer;
/** The statements a request issues, without the engine loop's that run meanwhile. */
const requestStatements = recordRequestStatements();
beforeAll(async () => {
  server = await startTestServer({ onQuery: requestStatements.onQuery });
});
afterAll(async () => {
  requestStatements.close();
  await server?.close();
});

const db = () => server.database.db;

/** Inserts `count` finished runs directly (no engine), spread over agents and an issue. */
async function seedRuns(count: number, options: { agents: string[]; issueId?: string; createdAt?: Date }) {
  const rows = Array.from({ length: count }, (_, i) => ({
    companyId: server.companyId,
    agentId: options.agents[i % options.agents.length],
    issueId: i % 2 === 0 ? (options.issueId ?? null) : null,
    status: (['succeeded', 'failed'] as const)[i % 2],
    livenessState: (['advanced', 'plan_only'] as const)[i % 2],
    livenessReason: 'seeded',
    createdAt: options.createdAt ?? new Date(),
  }));
  return db().insert(heartbeatRuns).values(rows).returning({ id: heartbeatRuns.id });
}

const RUNS_PAGE = `query($first: Int, $after: String, $filter: RunFilter) {
  runs(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id status createdAt agent { id name } issue { identifier } liveness { state reason } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('runs connection', () => {
  it('a page of 50 runs with agent, issue and liveness costs a small constant number of statements', async () => {
    const agents = [await createAgent(server, {}), await createAgent(server, {}), await createAgent(server, {})];
    const { issueId } = await createIssue(server, { title: 'Ledger' });
    await seedRuns(120, { agents, issueId });
    for (const first of [10, 50]) {
      const { result: data, statements } = await requestStatements.of(() => gql(server, RUNS_PAGE, { first }));
      expect(data.runs.edges).toHaveLength(first);
      expect(data.runs.edges[1].node).toMatchObject({ agent: { name: expect.any(String) }, liveness: { reason: 'seeded' } });
      // The page's own read is among them: the request's statements are really being seen.
      expect(statements.some((statement) => statement.includes('from "heartbeat_runs"')), statements.join('\n')).toBe(true);
      // Authentication + one planned query for the page; not one per run.
      expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(3);
    }
  });

  it('pages newest first; ties broken by id; no row lost or repeated while rows are inserted', async () => {
    const agentId = await createAgent(server, {});
    const tied = new Date('2026-03-01T10:00:00.000Z');
    const seeded = await seedRuns(45, { agents: [agentId], createdAt: tied });
    const filter = { agentId: agentGid(agentId) };
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; ; page++) {
      const data: any = await gql(server, RUNS_PAGE, { first: 10, after, filter });
      seen.push(...data.runs.edges.map((e: any) => e.node.id));
      // Newer runs arriving mid-scan land before the cursor and do not disturb the rest.
      if (page === 1) await seedRuns(5, { agents: [agentId], createdAt: new Date('2026-03-02T00:00:00.000Z') });
      if (!data.runs.pageInfo.hasNextPage) break;
      after = data.runs.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(seeded.map((r) => runGid(r.id)).sort());
  });

  it('filters by agent, issue, status, liveness state and creation time', async () => {
    const agentId = await createAgent(server, {});
    const { issueId } = await createIssue(server, { title: 'Filtered' });
    await seedRuns(6, { agents: [agentId], issueId, createdAt: new Date('2026-05-01T00:00:00Z') });
    await seedRuns(2, { agents: [agentId], createdAt: new Date('2026-06-01T00:00:00Z') });
    const count = async (filter: Record<string, unknown>) => (await gql(server, RUNS_PAGE, { first: 100, filter })).runs.edges.length;
    expect(await count({ agentId: agentGid(agentId) })).toBe(8);
    expect(await count({ agentId: agentGid(agentId), issueId: issueGid(issueId) })).toBe(3);
    expect(await count({ agentId: agentGid(agentId), status: ['SUCCEEDED'] })).toBe(4);
    expect(await count({ agentId: agentGid(agentId), livenessState: ['PLAN_ONLY'] })).toBe(4);
    expect(await count({ agentId: agentGid(agentId), createdAfter: '2026-05-15T00:00:00Z' })).toBe(2);
    expect(await count({ agentId: agentGid(agentId), createdBefore: '2026-05-15T00:00:00Z' })).toBe(6);
  });

  it('an empty list of statuses or liveness states matches no run ("any of none"); null filters nothing', async () => {
    const agentId = await createAgent(server, {});
    await seedRuns(4, { agents: [agentId] });
    const count = async (filter: Record<string, unknown>) => (await gql(server, RUNS_PAGE, { first: 100, filter })).runs.edges.length;
    expect(await count({ agentId: agentGid(agentId), status: [] })).toBe(0);
    expect(await count({ agentId: agentGid(agentId), livenessState: [] })).toBe(0);
    expect(await count({ agentId: agentGid(agentId), status: null, livenessState: null })).toBe(4);
    await enqueue(server, { agentId });
    const wakeups = async (status: unknown) =>
      (await gql(server, 'query($f: WakeupRequestFilter) { wakeupRequests(first: 100, filter: $f) { edges { node { id } } } }', { f: { agentId: agentGid(agentId), status } }))
        .wakeupRequests.edges.length;
    expect(await wakeups([])).toBe(0);
    expect(await wakeups(null)).toBe(1);
  });
});

describe('HeartbeatRun', () => {
  it('shows events, log, result, liveness and the retry lineage both ways', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ log: 'out line' }, { log: 'err line', stream: 'stderr' }, { event: { type: 'tool.call', message: 'ls' } }, { result: { answer: 42 }, summary: 'ok' }] } });
    const { runId } = await enqueue(server, { agentId });
    const first = await runFinished(server, runId!);
    // A retry of it, and an exhausted bounded retry on the retry.
    const [retry] = await db().insert(heartbeatRuns).values({ companyId: server.companyId, agentId, status: 'failed', retryOfRunId: first.id, scheduledRetryAttempt: 4, scheduledRetryReason: 'transient_failure', processLossRetryCount: 1 }).returning();
    await db().insert(runEvents).values({ companyId: server.companyId, runId: retry.id, agentId, seq: 1, eventType: 'lifecycle', level: 'warn', message: 'Bounded retry exhausted after 4 scheduled attempts; no further automatic retry will be queued' });
    const data = await gql(server, `query($id: ID!, $retry: ID!) {
      run(id: $id) {
        status stdoutExcerpt log stderr: log(stream: STDERR) tail: log(tailBytes: 5) result usage
        events(afterSeq: 2, first: 2) { seq eventType message }
        lastEventSeq liveness { state continuationAttempt }
        retry { retryOf { id } retries { id } attempt maxAttempts exhaustedReason }
        wakeupRequest { status source }
      }
      retried: run(id: $retry) { retry { retryOf { id } attempt reason exhaustedReason processLossRetryCount } }
    }`, { id: runGid(first.id), retry: runGid(retry.id) });
    expect(data.run).toMatchObject({
      status: 'SUCCEEDED',
      stdoutExcerpt: 'out line\n',
      log: 'out line\nerr line\n',
      stderr: 'err line\n',
      tail: 'line\n',
      result: { answer: 42, summary: 'ok', stopReason: 'completed' },
      events: [{ seq: 3, eventType: 'tool.call', message: 'ls' }, { seq: 4, eventType: 'lifecycle', message: 'run succeeded' }],
      lastEventSeq: 4,
      liveness: { state: 'ADVANCED', continuationAttempt: 0 },
      retry: { retryOf: null, retries: [{ id: runGid(retry.id) }], attempt: 0, maxAttempts: 4, exhaustedReason: null },
      wakeupRequest: { status: 'COMPLETED', source: 'ON_DEMAND' },
    });
    expect(data.retried.retry).toEqual({
      retryOf: { id: runGid(first.id) },
      attempt: 4,
      reason: 'transient_failure',
      exhaustedReason: 'Bounded retry exhausted after 4 scheduled attempts; no further automatic retry will be queued',
      processLossRetryCount: 1,
    });
  });

  it('an oversized result is shown as a bounded summary', async () => {
    const agentId = await createAgent(server, {});
    const [run] = await db().insert(heartbeatRuns).values({ companyId: server.companyId, agentId, status: 'succeeded', resultJson: { summary: 's'.repeat(1000), stdout: 'o'.repeat(100_000), cost_usd: 0.5 } }).returning();
    const data = await gql(server, `query($id: ID!) { run(id: $id) { result } }`, { id: runGid(run.id) });
    expect(data.run.result).toMatchObject({ truncated: true, truncationReason: 'oversized_result_json', stdoutTruncated: true, cost_usd: 0.5 });
    expect(data.run.result.summary).toHaveLength(500);
    expect(data.run.result.stdout).toHaveLength(4096);
  });
});

describe('agents, issues, wakeup requests', () => {
  it('agent: policy, active run, run connection; issue: lock and run ledger; wakeup requests by status', async () => {
    const agentId = await createAgent(server, { heartbeat: { maxConcurrentRuns: 2, enabled: true, intervalSec: 60 }, adapterConfig: { steps: [{ sleepMs: 10_000 }] } });
    const { issueId, wakeup } = await createIssue(server, { title: 'Busy', assigneeAgentId: agentId });
    const runId = rawId(wakeup!.run!.id);
    await waitFor('running', async () => (await db().query.heartbeatRuns.findFirst({ where: { id: runId } }))?.status === 'running');
    const data = await gql(server, `query($agent: ID!, $issue: ID!) {
      agent(id: $agent) { heartbeat { enabled intervalSec maxConcurrentRuns wakeOnDemand } activeRun { id } runs(first: 5) { totalCount edges { node { id } } } }
      issue(id: $issue) { executionRun { id } runs(first: 5) { totalCount edges { node { id status } } } }
      wakeupRequests(filter: { status: [CLAIMED] }) { edges { node { reason run { id } agent { id } } } }
    }`, { agent: agentGid(agentId), issue: issueGid(issueId) });
    expect(data.agent).toEqual({
      heartbeat: { enabled: true, intervalSec: 60, maxConcurrentRuns: 2, wakeOnDemand: true },
      activeRun: { id: runGid(runId) },
      runs: { totalCount: 1, edges: [{ node: { id: runGid(runId) } }] },
    });
    expect(data.issue).toEqual({ executionRun: { id: runGid(runId) }, runs: { totalCount: 1, edges: [{ node: { id: runGid(runId), status: 'RUNNING' } }] } });
    expect(data.wakeupRequests.edges).toContainEqual({ node: { reason: 'issue_assigned', run: { id: runGid(runId) }, agent: { id: agentGid(agentId) } } });
    await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: runGid(runId) });
  });
});

describe('run ledger backfill', () => {
  it('opening an issue classifies its finished runs that never were', async () => {
    const agentId = await createAgent(server, {});
    const { issueId } = await createIssue(server, { title: 'Old runs' });
    const [old] = await db().insert(heartbeatRuns).values({ companyId: server.companyId, agentId, issueId, status: 'failed', errorCode: 'adapter_failed', error: 'boom' }).returning();
    await gql(server, `query($id: ID!) { issue(id: $id) { runs(first: 5) { edges { node { id } } } } }`, { id: issueGid(issueId) });
    const classified = await waitFor('the backfill', async () => (await db().query.heartbeatRuns.findFirst({ where: { id: old.id } }))?.livenessState);
    expect(classified).toBe('failed');
  });
});
