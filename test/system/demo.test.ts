// The demo company (`heartbeat serve --demo`): within seconds of the start the API shows runs in every
// state the console draws, seeding again adds nothing, and removal takes the demo away and nothing
// else. Then the same through the real binary: the banner's demo line, and `--remove-demo`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityLog, agents, heartbeatRuns, issues, wakeupRequests } from '../../db/schema.ts';
import { countDemo, removeDemo, seedDemo } from '../../server/demo.ts';
import { createAgent, createIssue, enqueue, gql, rawId, runFinished } from '../support/api.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postGraphQL } from '../support/graphql.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

/** The promise made to a new user: every state shows within this long of the start. */
const ALL_STATES_MS = 15_000;

interface Run {
  id: string;
  status: string;
  agent: { name: string; role: string };
  issue: { title: string } | null;
  liveness: { state: string | null; continuationAttempt: number; reason: string | null };
  retry: { scheduledAt: string | null; attempt: number; reason: string | null };
  cost: { costUsd: number | null } | null;
  context: Record<string, unknown>;
  events: Array<{ eventType: string }>;
}
interface Issue {
  id: string;
  title: string;
  status: string;
  assigneeAgent: { name: string } | null;
  executionRun: { id: string; status: string } | null;
  comments: Array<{ body: string; authorUserId: string | null }>;
}
interface Wakeup {
  status: string;
  coalescedCount: number;
  payload: { issueId?: string } | null;
  agent: { name: string };
}

const STATE = `{
  agents(first: 20) { edges { node { id name role } } }
  runs(first: 50) { edges { node {
    id status agent { name role } issue { title } context
    liveness { state continuationAttempt reason } retry { scheduledAt attempt reason } cost { costUsd }
    events(first: 10) { eventType } } } }
  issues(first: 20) { edges { node { id title status assigneeAgent { name } executionRun { id status } comments { body authorUserId } } } }
  wakeupRequests(first: 20, filter: { status: [DEFERRED_ISSUE_EXECUTION] }) { edges { node { status coalescedCount payload agent { name } } } }
}`;

async function readState(server: TestServer) {
  const data = await gql(server, STATE);
  const nodes = <T>(connection: { edges: Array<{ node: T }> }) => connection.edges.map((edge) => edge.node);
  return {
    agents: nodes<{ id: string; name: string; role: string }>(data.agents),
    runs: nodes<Run>(data.runs),
    issues: nodes<Issue>(data.issues),
    deferred: nodes<Wakeup>(data.wakeupRequests),
  };
}
type State = Awaited<ReturnType<typeof readState>>;

/** Each state the demo promises, as the API shows it; null while it has not happened yet. */
const demoStates = {
  succeeded: (s: State) =>
    s.runs.find((r) => r.agent.name === 'demo-builder' && r.status === 'SUCCEEDED' && r.events.some((e) => e.eventType === 'tool.call') && (r.cost?.costUsd ?? 0) > 0),
  scheduledRetry: (s: State) =>
    s.runs.find((r) => r.status === 'SCHEDULED_RETRY' && r.retry.reason === 'transient_failure' && r.retry.attempt === 1 && Date.parse(r.retry.scheduledAt!) > Date.now()),
  running: (s: State) => s.runs.find((r) => r.status === 'RUNNING' && r.agent.name === 'demo-migrator' && r.issue?.title.startsWith('[demo] ')),
  planOnly: (s: State) => s.runs.find((r) => r.agent.name === 'demo-planner' && r.issue && r.liveness.state === 'PLAN_ONLY' && r.liveness.continuationAttempt === 0),
  continuation: (s: State) => s.runs.find((r) => r.agent.name === 'demo-planner' && r.issue && r.liveness.continuationAttempt >= 1 && r.context.wakeReason === 'run_liveness_continuation'),
  continuationExhausted: (s: State) => s.runs.find((r) => r.agent.name === 'demo-planner' && r.liveness.reason?.endsWith('; continuation attempts exhausted')),
  deferredBehindLock: (s: State) => {
    const issue = s.issues.find((i) => i.title === '[demo] Backfill invoice totals for 2023' && i.executionRun?.status === 'RUNNING');
    return issue && s.deferred.find((w) => w.agent.name === 'demo-migrator' && w.payload?.issueId === rawId(issue.id) && w.coalescedCount === 1);
  },
  escalated: (s: State) =>
    s.issues.find((i) => i.assigneeAgent?.name === 'demo-deployer' && i.status === 'BLOCKED' && i.comments.some((c) => c.authorUserId === 'system' && c.body.startsWith('Heartbeat already retried'))),
};

describe('the demo company, in a server', { timeout: 120_000 }, () => {
  let server: TestServer;
  let ownAgentId: string;
  let ownRunId: string;

  beforeAll(async () => {
    server = await startTestServer();
    // The company's own work, which the demo must leave alone.
    ownAgentId = await createAgent(server, { name: 'my-agent', adapterConfig: { steps: [{ log: 'mine' }, { result: { ok: true } }] } });
    await createIssue(server, { title: 'My own issue' });
    const own = await enqueue(server, { agentId: ownAgentId });
    ownRunId = own.run!.id;
    await runFinished(server, own.runId!);
  }, 60_000);
  afterAll(() => server?.close());

  it('shows a run in every state within 15 s, and two seeds at once add the demo once', async () => {
    const started = Date.now();
    const seeds = await Promise.all([seedDemo(server.app, server.companyId), seedDemo(server.app, server.companyId)]);
    expect(seeds.map((seed) => seed.created).sort()).toEqual([false, true]);
    expect(seeds.map(({ agents, issues }) => ({ agents, issues }))).toEqual([{ agents: 5, issues: 3 }, { agents: 5, issues: 3 }]);

    const seen = new Set<string>();
    let last: State | undefined;
    await waitFor(
      'every demo state',
      async () => {
        const state = (last = await readState(server));
        for (const [name, find] of Object.entries(demoStates)) if (find(state)) seen.add(name);
        return seen.size === Object.keys(demoStates).length;
      },
      { timeoutMs: ALL_STATES_MS - (Date.now() - started), intervalMs: 250 },
    ).catch((error: Error) => {
      const runs = last?.runs.map((r) => `${r.agent.name} ${r.status} ${r.liveness.state} #${r.liveness.continuationAttempt} ${r.context.wakeReason}`);
      throw new Error(`${error.message}; seen: ${[...seen].join(', ')}; runs:\n${runs?.join('\n')}`);
    });

    // The demo is marked the way the API shows it.
    const state = await readState(server);
    const demoAgents = state.agents.filter((agent) => agent.name.startsWith('demo-'));
    expect(demoAgents).toHaveLength(5);
    expect(demoAgents.every((agent) => agent.role === 'demo')).toBe(true);
    expect(state.issues.filter((issue) => issue.title.startsWith('[demo] '))).toHaveLength(3);
  });

  it('a later seed adds nothing', async () => {
    const before = await countDemo(server.database.db, server.companyId);
    expect(await seedDemo(server.app, server.companyId)).toEqual({ agents: 5, issues: 3, created: false });
    expect(await countDemo(server.database.db, server.companyId)).toEqual(before);
  });

  it('removal takes every demo agent, issue and run away, and nothing else', async () => {
    const db = server.database.db;
    const demoAgentIds = (await db.select({ id: agents.id }).from(agents).where(sql`${agents.name} like 'demo-%'`)).map((a) => a.id);
    const demoIssueIds = (await db.select({ id: issues.id }).from(issues).where(sql`${issues.title} like '[demo] %'`)).map((i) => i.id);
    expect(demoAgentIds).toHaveLength(5);
    expect(await db.$count(heartbeatRuns, inArray(heartbeatRuns.agentId, demoAgentIds))).toBeGreaterThan(0);
    expect(await db.$count(activityLog, inArray(activityLog.entityId, demoIssueIds))).toBeGreaterThan(0);

    expect(await removeDemo(server.app, server.companyId)).toEqual({ agents: 5, issues: 3 });

    const state = await readState(server);
    expect(state.agents.map((agent) => agent.name)).toEqual(['my-agent']);
    expect(state.issues.map((issue) => issue.title)).toEqual(['My own issue']);
    expect(state.runs.map((run) => run.id)).toEqual([ownRunId]);
    expect(await db.$count(heartbeatRuns, inArray(heartbeatRuns.agentId, demoAgentIds))).toBe(0);
    expect(await db.$count(wakeupRequests, inArray(wakeupRequests.agentId, demoAgentIds))).toBe(0);
    expect(await db.$count(activityLog, inArray(activityLog.entityId, demoIssueIds))).toBe(0);
    expect(await countDemo(db, server.companyId)).toEqual({ agents: 0, issues: 0 });
    // What is left still works: the own agent runs again.
    await runFinished(server, (await enqueue(server, { agentId: ownAgentId })).runId!);
    expect((await gql(server, `{ runs(first: 10) { edges { node { status } } } }`)).runs.edges).toHaveLength(2);
    // And removing when there is nothing to remove is no error.
    expect(await removeDemo(server.app, server.companyId)).toEqual({ agents: 0, issues: 0 });
  });
});

describe('heartbeat serve --demo', { timeout: 180_000 }, () => {
  const KEY = 'hb_demo_test_bootstrap_key_0000000000001';
  let database: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'heartbeat-demo-'));
  });
  afterAll(async () => {
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const serve = (args: string[]) =>
    spawnHeartbeat(['serve', ...args], {
      DATABASE_URL: database.url,
      PORT: '0',
      HEARTBEAT_DATA_DIR: dataDir,
      HEARTBEAT_BOOTSTRAP_KEY: KEY,
      // The demo's long run is cut short at the stop rather than waited for.
      HEARTBEAT_SHUTDOWN_GRACE_MS: '500',
    });

  async function agentNames(graphqlUrl: string): Promise<string[]> {
    const { body } = await postGraphQL<{ agents: { edges: Array<{ node: { name: string } }> } }>(graphqlUrl, `{ agents(first: 20) { edges { node { name } } } }`, { key: KEY });
    return body.data!.agents.edges.map((edge) => edge.node.name);
  }

  async function stop(child: ReturnType<typeof serve>): Promise<void> {
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }

  it('prints the demo line under the banner; --remove-demo removes it', async () => {
    const first = serve(['--demo']);
    const [, graphqlUrl] = await first.waitFor(/GraphiQL:\s+(\S+)/);
    await first.waitFor(/^Demo data: 5 agents, 3 issues \(remove with `npm start -- --remove-demo`\)$/m);
    expect((await agentNames(graphqlUrl)).filter((name) => name.startsWith('demo-')).sort()).toEqual([
      'demo-builder',
      'demo-deployer',
      'demo-migrator',
      'demo-planner',
      'demo-summarizer',
    ]);
    await stop(first);

    const second = serve(['--remove-demo']);
    const [, url] = await second.waitFor(/GraphiQL:\s+(\S+)/);
    await second.waitFor(/^Demo data removed: 5 agents, 3 issues\.$/m);
    expect(await agentNames(url)).toEqual([]);
    await stop(second);
  });

  it('refuses --demo with --remove-demo', async () => {
    const both = serve(['--demo', '--remove-demo']);
    expect(await both.exited).not.toBe(0);
    expect(both.output()).toMatch(/'--remove-demo' cannot be used with option '--demo'/);
  });
});
