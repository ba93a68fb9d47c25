// Agent task sessions through the API: the rotation policy on create and update, the sessions an
// agent's tasks resume and the ones its runs were given and left, forgetting them, and the two ways a
// wakeup can ask about its session (a fresh one, or the one an earlier run left).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTaskSessions, companies, heartbeatRuns } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { agentGid, createAgent, enqueue, gql, gqlFailure, rawId, runGid } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const db = () => server.database.db;

const CREATE = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id sessionPolicy { maxSessionRuns maxRawInputTokens maxSessionAgeHours } } }';
const UPDATE = 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { sessionPolicy { maxSessionRuns maxRawInputTokens maxSessionAgeHours } } }';
const RESET = 'mutation($input: ResetAgentSessionInput!) { resetAgentSession(input: $input) { removed agent { id taskSessions { taskKey } } } }';
const ENQUEUE = 'mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome run { id context } } }';

/** A finished run of the agent, written directly, that was given `before` and left `after`. */
async function seedRun(agentId: string, fields: { context: Record<string, unknown>; before?: string | null; after?: string | null }) {
  const [run] = await db()
    .insert(heartbeatRuns)
    .values({
      companyId: server.companyId,
      agentId,
      status: 'succeeded',
      contextSnapshot: fields.context,
      sessionIdBefore: fields.before ?? null,
      sessionIdAfter: fields.after ?? null,
      startedAt: new Date(Date.now() - 2_000),
      finishedAt: new Date(),
    })
    .returning({ id: heartbeatRuns.id });
  return run.id;
}

/** A stored task session of a script agent. */
async function seedSession(agentId: string, taskKey: string, values: Partial<typeof agentTaskSessions.$inferInsert> = {}) {
  await db()
    .insert(agentTaskSessions)
    .values({ companyId: server.companyId, agentId, adapterType: 'script', taskKey, sessionParams: { sessionId: `session-of-${taskKey}` }, ...values });
}

const sessionsOf = async (agentId: string) => (await db().query.agentTaskSessions.findMany({ where: { agentId }, orderBy: { taskKey: 'asc' } })).map((row) => row.taskKey);

describe('sessionPolicy', () => {
  it('is stored on create, read back with defaults, and replaced whole on update, keeping the heartbeat policy', async () => {
    const created = await gql(server, CREATE, {
      input: { name: 'rotating', adapterType: 'SCRIPT', adapterConfig: { steps: [] }, heartbeat: { intervalSec: 60 }, sessionPolicy: { maxSessionRuns: 20, maxSessionAgeHours: 24 } },
    });
    expect(created.createAgent.sessionPolicy).toEqual({ maxSessionRuns: 20, maxRawInputTokens: 0, maxSessionAgeHours: 24 });
    const id = created.createAgent.id;
    const read = await gql(server, 'query($id: ID!) { agent(id: $id) { sessionPolicy { maxSessionRuns maxRawInputTokens maxSessionAgeHours } } }', { id });
    expect(read.agent.sessionPolicy).toEqual(created.createAgent.sessionPolicy);

    const updated = await gql(server, UPDATE, { input: { id, sessionPolicy: { maxRawInputTokens: 150_000 } } });
    expect(updated.updateAgent.sessionPolicy).toEqual({ maxSessionRuns: 0, maxRawInputTokens: 150_000, maxSessionAgeHours: 0 });
    const row = await db().query.agents.findFirst({ where: { id: rawId(id) } });
    expect(row!.runtimeConfig).toMatchObject({ heartbeat: { intervalSec: 60 }, sessionPolicy: { maxRawInputTokens: 150_000 } });
    // Null turns rotation off; an update that leaves it out keeps it.
    expect((await gql(server, UPDATE, { input: { id, sessionPolicy: null } })).updateAgent.sessionPolicy).toEqual({ maxSessionRuns: 0, maxRawInputTokens: 0, maxSessionAgeHours: 0 });
    await gql(server, UPDATE, { input: { id, sessionPolicy: { maxSessionRuns: 3 } } });
    expect((await gql(server, UPDATE, { input: { id, name: 'renamed' } })).updateAgent.sessionPolicy.maxSessionRuns).toBe(3);
  });

  it('an agent created without one never rotates', async () => {
    const id = agentGid(await createAgent(server, {}));
    const read = await gql(server, 'query($id: ID!) { agent(id: $id) { sessionPolicy { maxSessionRuns maxRawInputTokens maxSessionAgeHours } } }', { id });
    expect(read.agent.sessionPolicy).toEqual({ maxSessionRuns: 0, maxRawInputTokens: 0, maxSessionAgeHours: 0 });
  });

  it('refuses a negative limit with BAD_USER_INPUT naming it, and changes nothing', async () => {
    const agentsBefore = (await db().query.agents.findMany({ columns: { id: true } })).length;
    const refused = await gqlFailure(gql(server, CREATE, { input: { name: 'negative', adapterType: 'SCRIPT', adapterConfig: { steps: [] }, sessionPolicy: { maxSessionRuns: -1 } } }));
    expect(refused.code).toBe('BAD_USER_INPUT');
    expect(refused.message).toMatch(/sessionPolicy\.maxSessionRuns/);
    expect(refused.errors[0].extensions?.field).toBe('sessionPolicy.maxSessionRuns');
    expect((await db().query.agents.findMany({ columns: { id: true } })).length).toBe(agentsBefore);

    const agentId = await createAgent(server, {});
    await gql(server, UPDATE, { input: { id: agentGid(agentId), sessionPolicy: { maxSessionAgeHours: 12 } } });
    const stored = (await db().query.agents.findFirst({ where: { id: agentId } }))!;
    const update = await gqlFailure(gql(server, UPDATE, { input: { id: agentGid(agentId), name: 'changed', sessionPolicy: { maxSessionAgeHours: -5 } } }));
    expect(update.code).toBe('BAD_USER_INPUT');
    expect(update.message).toMatch(/sessionPolicy\.maxSessionAgeHours/);
    const after = (await db().query.agents.findFirst({ where: { id: agentId } }))!;
    expect(after).toEqual(stored); // neither the name nor the policy changed
  });
});

describe('reading sessions', () => {
  it("Agent.taskSessions lists the stored sessions, most recently used first, with their last run; a run shows its task and sessions", async () => {
    const agentId = await createAgent(server, { name: 'resumer' });
    const runId = await seedRun(agentId, { context: { taskKey: 'fix-dates', wakeReason: 'issue_commented' }, before: 'sess-1', after: 'sess-2' });
    await seedSession(agentId, 'fix-dates', {
      sessionParams: { sessionId: 'sess-2', cwd: '/work/acme' },
      sessionDisplayId: 'Fix dates (sess-2)',
      lastRunId: runId,
      lastError: null,
      updatedAt: new Date(),
    });
    await seedSession(agentId, 'older-task', { lastError: 'run_failed', updatedAt: new Date(Date.now() - 60_000) });

    const data = await gql(
      server,
      `query($id: ID!, $run: ID!) {
        agent(id: $id) { taskSessions { taskKey sessionId displayId params lastError updatedAt lastRun { id sessionIdBefore sessionIdAfter taskKey } } }
        run(id: $run) { taskKey sessionIdBefore sessionIdAfter }
      }`,
      { id: agentGid(agentId), run: runGid(runId) },
    );
    expect(data.agent.taskSessions).toEqual([
      {
        taskKey: 'fix-dates',
        sessionId: 'sess-2',
        displayId: 'Fix dates (sess-2)',
        params: { sessionId: 'sess-2', cwd: '/work/acme' },
        lastError: null,
        updatedAt: expect.any(String),
        lastRun: { id: runGid(runId), sessionIdBefore: 'sess-1', sessionIdAfter: 'sess-2', taskKey: 'fix-dates' },
      },
      expect.objectContaining({ taskKey: 'older-task', sessionId: 'session-of-older-task', displayId: null, lastError: 'run_failed', lastRun: null }),
    ]);
    expect(data.run).toEqual({ taskKey: 'fix-dates', sessionIdBefore: 'sess-1', sessionIdAfter: 'sess-2' });
    // `first` bounds the list; out of range is refused naming the argument.
    const first = await gql(server, 'query($id: ID!) { agent(id: $id) { taskSessions(first: 1) { taskKey } } }', { id: agentGid(agentId) });
    expect(first.agent.taskSessions).toEqual([{ taskKey: 'fix-dates' }]);
    const outOfRange = await gqlFailure(gql(server, 'query($id: ID!) { agent(id: $id) { taskSessions(first: 0) { taskKey } } }', { id: agentGid(agentId) }));
    expect(outOfRange.code).toBe('BAD_USER_INPUT');
    expect(outOfRange.errors[0].extensions?.argument).toBe('first');
  });

  it("a run's task key follows the engine's rule: the issue, the timer's shared key, or none", async () => {
    const agentId = await createAgent(server, {});
    const issueId = '00000000-0000-4000-8000-00000000abcd';
    const onIssue = await seedRun(agentId, { context: { issueId } });
    const onTimer = await seedRun(agentId, { context: { wakeSource: 'timer' } });
    const onDemand = await seedRun(agentId, { context: { wakeReason: 'manual' } });
    const data = await gql(server, 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on HeartbeatRun { taskKey sessionIdBefore sessionIdAfter } } }', {
      ids: [onIssue, onTimer, onDemand].map(runGid),
    });
    expect(data.nodes).toEqual([
      { taskKey: issueId, sessionIdBefore: null, sessionIdAfter: null },
      { taskKey: '__heartbeat__', sessionIdBefore: null, sessionIdAfter: null },
      { taskKey: null, sessionIdBefore: null, sessionIdAfter: null },
    ]);
  });
});

describe('resetAgentSession', () => {
  it("forgets one task's session, then all of them, and says how many", async () => {
    const agentId = await createAgent(server, {});
    const bystander = await createAgent(server, {});
    for (const task of ['a', 'b', 'c']) await seedSession(agentId, task);
    await seedSession(bystander, 'a');

    const one = await gql(server, RESET, { input: { agentId: agentGid(agentId), taskKey: 'b' } });
    expect(one.resetAgentSession).toEqual({ removed: 1, agent: { id: agentGid(agentId), taskSessions: expect.arrayContaining([{ taskKey: 'a' }, { taskKey: 'c' }]) } });
    expect(await sessionsOf(agentId)).toEqual(['a', 'c']);
    // A task without a session: nothing to forget, no error.
    expect((await gql(server, RESET, { input: { agentId: agentGid(agentId), taskKey: 'b' } })).resetAgentSession.removed).toBe(0);

    const all = await gql(server, RESET, { input: { agentId: agentGid(agentId) } });
    expect(all.resetAgentSession).toEqual({ removed: 2, agent: { id: agentGid(agentId), taskSessions: [] } });
    expect(await sessionsOf(agentId)).toEqual([]);
    expect(await sessionsOf(bystander)).toEqual(['a']);

    const blank = await gqlFailure(gql(server, RESET, { input: { agentId: agentGid(bystander), taskKey: '  ' } }));
    expect(blank.code).toBe('BAD_USER_INPUT');
    expect(await sessionsOf(bystander)).toEqual(['a']);
  });

  it("is NOT_FOUND for another company's agent, whose sessions stay; a viewer key may not reset", async () => {
    const agentId = await createAgent(server, {});
    await seedSession(agentId, 'mine');
    const [other] = await db().insert(companies).values({ name: 'Other sessions' }).returning();
    const otherKey = await createApiKey(db(), { companyId: other.id, name: 'other admin' });
    for (const input of [{ agentId: agentGid(agentId) }, { agentId: agentGid(agentId), taskKey: 'mine' }]) {
      const refused = await gqlFailure(gql(server, RESET, { input }, otherKey.key));
      expect(refused.code).toBe('NOT_FOUND');
    }
    // Nor can it read them.
    expect((await gql(server, 'query($id: ID!) { agent(id: $id) { taskSessions { taskKey } } }', { id: agentGid(agentId) }, otherKey.key)).agent).toBeNull();

    const viewer = await createApiKey(db(), { companyId: server.companyId, name: 'viewer', role: 'viewer' });
    expect((await gqlFailure(gql(server, RESET, { input: { agentId: agentGid(agentId) } }, viewer.key))).code).toBe('FORBIDDEN');
    expect(await sessionsOf(agentId)).toEqual(['mine']);
    // A wrong type of id is refused before anything runs.
    expect((await gqlFailure(gql(server, RESET, { input: { agentId: runGid(agentId) } }))).code).toBe('BAD_USER_INPUT');
  });
});

describe('enqueueWakeup and sessions', () => {
  // The claim turns a wake's session request into its decision (context.session, sessionIdBefore) and
  // drops the request; an agent busy with another run keeps the new one queued, request and all.
  async function busyAgent() {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const { runId } = await enqueue(server, { agentId });
    await waitFor('the busy run to start', async () => (await db().query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.status === 'running');
    return { agentId, busyRunId: runId! };
  }
  const cancel = (runId: string) => gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: runGid(runId) });
  const started = (runId: string) =>
    waitFor(`run ${runId} to start`, async () => {
      const row = await db().query.heartbeatRuns.findFirst({ where: { id: runId } });
      return row && row.status !== 'queued' ? row : null;
    });

  it('forceFreshSession reaches the queued run as context.forceFreshSession; claimed, it skips the stored session', async () => {
    const { agentId, busyRunId } = await busyAgent();
    await seedSession(agentId, 'chores');
    const data = await gql(server, ENQUEUE, { input: { agentId: agentGid(agentId), reason: 'start over', payload: { taskKey: 'chores' }, forceFreshSession: true } });
    expect(data.enqueueWakeup.outcome).toBe('QUEUED');
    expect(data.enqueueWakeup.run.context).toMatchObject({ forceFreshSession: true });
    const runId = rawId(data.enqueueWakeup.run.id);
    expect((await db().query.heartbeatRuns.findFirst({ where: { id: runId } }))!.contextSnapshot).toMatchObject({ forceFreshSession: true });

    await cancel(busyRunId);
    const claimed = await started(runId);
    expect(claimed.sessionIdBefore).toBeNull();
    expect(claimed.contextSnapshot).toMatchObject({ sessionResetReason: 'forceFreshSession was requested' });
    await cancel(runId);
  });

  it('resumeFromRunId resumes the session the run left, with its task', async () => {
    const { agentId, busyRunId } = await busyAgent();
    const earlier = await seedRun(agentId, { context: { taskKey: 'refactor' }, after: 'sess-left' });
    const data = await gql(server, ENQUEUE, { input: { agentId: agentGid(agentId), resumeFromRunId: runGid(earlier) } });
    expect(data.enqueueWakeup.outcome).toBe('QUEUED');
    expect(data.enqueueWakeup.run.context).toMatchObject({ resumeFromRunId: earlier, resumeSessionParams: { sessionId: 'sess-left' }, taskKey: 'refactor' });

    await cancel(busyRunId);
    const runId = rawId(data.enqueueWakeup.run.id);
    const claimed = await started(runId);
    expect(claimed.sessionIdBefore).toBe('sess-left');
    expect(claimed.contextSnapshot).toMatchObject({ session: { id: 'sess-left', taskKey: 'refactor' } });
    const read = await gql(server, 'query($id: ID!) { run(id: $id) { taskKey sessionIdBefore } }', { id: runGid(runId) });
    expect(read.run).toEqual({ taskKey: 'refactor', sessionIdBefore: 'sess-left' });
    await cancel(runId);
  });

  it("refuses another agent's run, a run without a session, a bad id and both options at once, creating no run", async () => {
    const agentId = await createAgent(server, {});
    const otherAgent = await createAgent(server, {});
    const othersRun = await seedRun(otherAgent, { context: { taskKey: 'theirs' }, after: 'their-session' });
    const sessionless = await seedRun(agentId, { context: { taskKey: 'none' } });
    const own = await seedRun(agentId, { context: { taskKey: 'own' }, after: 'own-session' });
    const counts = async () => ({ runs: await db().$count(heartbeatRuns), wakeups: (await db().query.wakeupRequests.findMany({ columns: { id: true } })).length });
    const before = await counts();
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ["another agent's run", { resumeFromRunId: runGid(othersRun) }, /another agent/],
      ['a run that left no session', { resumeFromRunId: runGid(sessionless) }, /no session/],
      ['a run that exists nowhere', { resumeFromRunId: runGid('00000000-0000-4000-8000-000000000000') }, /no run/],
      ['a malformed id', { resumeFromRunId: 'garbage' }, /Invalid ID/],
      ['an id of another type', { resumeFromRunId: encodeGlobalId('Agent', agentId) }, /./],
      ['both at once', { resumeFromRunId: runGid(own), forceFreshSession: true }, /not both/],
    ];
    for (const [what, fields, message] of cases) {
      const refused = await gqlFailure(gql(server, ENQUEUE, { input: { agentId: agentGid(agentId), ...fields } }));
      expect(refused.code, what).toBe('BAD_USER_INPUT');
      expect(refused.message, what).toMatch(message);
    }
    expect(await counts()).toEqual(before);
  });
});
