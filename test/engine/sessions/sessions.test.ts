// Agent task sessions end to end (docs/engine.md §12): a real server and engine on real PostgreSQL,
// and a process agent (fixtures/agents/session-agent.mjs) that records the session it was handed
// (HEARTBEAT_SESSION_ID and stdin) and reports what the test scripts for it, run after run.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentTaskSessions } from '../../../db/schema.ts';
import { claimNextRunsForAgent } from '../../../engine/runs/claim.ts';
import { HEARTBEAT_TASK_KEY } from '../../../engine/rules/sessions.ts';
import { createAgent, gql, runFinished, runGid } from '../../support/api.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const AGENT = new URL('../../fixtures/agents/session-agent.mjs', import.meta.url).pathname;

let server: TestServer;
let dir: string;
let record: string;
let script: string;
beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'heartbeat-sessions-'));
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

let agentId: string;
beforeEach(async () => {
  const name = Math.random().toString(36).slice(2, 8);
  record = join(dir, `${name}.record`);
  script = join(dir, `${name}.script`);
  await writeFile(record, '');
  await writeFile(script, '');
  agentId = await createAgent(server, {
    adapterType: 'process',
    adapterConfig: { command: process.execPath, args: [AGENT], env: { SESSION_RECORD: record, SESSION_SCRIPT: script } },
    // Timer wakes are accepted; the interval is long enough that the engine's own timer never fires here.
    heartbeat: { enabled: true, intervalSec: 86_400 },
  });
});

const engine = () => server.app.engine;
const db = () => server.database.db;
const actor = { type: 'user' as const, id: 'ana' };
/** What the agent does in its next runs, one step each. */
const steps = (...lines: object[]) => writeFile(script, lines.map((line) => JSON.stringify(line)).join('\n'));
/** What each run was handed, in order. */
async function handed(): Promise<Array<{ runId: string; env: string; session: { id: string } | null; contextSession: { id: string } | null }>> {
  return (await readFile(record, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}
const runsOf = () => db().query.heartbeatRuns.findMany({ where: { agentId }, orderBy: { createdAt: 'asc' } });
const sessionsOf = () => db().query.agentTaskSessions.findMany({ where: { agentId } });
async function settled(runId: string) {
  await runFinished(server, runId);
  return waitFor(`run ${runId} settled`, async () => {
    const row = await db().query.heartbeatRuns.findFirst({ where: { id: runId } });
    return row?.settledAt ? row : null;
  });
}
const logOf = async (runId: string) => (await gql(server, `query($id: ID!) { run(id: $id) { log } }`, { id: runGid(runId) })).run.log as string;

async function issueRun(title: string) {
  const { issue, wakeup } = await engine().issues.create({ companyId: server.companyId, title, assigneeAgentId: agentId }, actor);
  return { issueId: issue.id, run: await settled(wakeup!.run!.id) };
}
async function comment(issueId: string) {
  const { wakeup } = await engine().issues.addComment({ companyId: server.companyId, issueId, body: 'Please also cover the edge case' }, actor);
  return settled(wakeup!.run!.id);
}

describe('a run resumes the session its task left', () => {
  it('issue I: run 1 reports s1; the comment wakes run 2 with s1 (env and stdin); a silent run 2 keeps it', async () => {
    await steps({ report: { sessionId: 's1' } }, { silent: true });
    const { issueId, run: first } = await issueRun('Fix the login');
    expect(first).toMatchObject({ status: 'succeeded', sessionIdBefore: null, sessionIdAfter: 's1' });
    const second = await comment(issueId);
    expect(second).toMatchObject({ status: 'succeeded', sessionIdBefore: 's1', sessionIdAfter: 's1' });
    const [one, two] = await handed();
    expect(one).toMatchObject({ runId: first.id, env: '', session: null, contextSession: null });
    expect(two).toMatchObject({ runId: second.id, env: 's1', session: { id: 's1', params: { sessionId: 's1' }, taskKey: issueId } });
    expect(two.contextSession).toEqual(two.session);
    expect(await sessionsOf()).toEqual([expect.objectContaining({ taskKey: issueId, sessionParams: { sessionId: 's1' }, lastRunId: second.id, lastError: null })]);
  });

  it('an assignment and forceFreshSession start fresh, and the log says why', async () => {
    await steps({ report: { sessionId: 's1' } }, { report: { sessionId: 's2' } }, { silent: true });
    const { issueId } = await issueRun('Refactor the parser');
    const reassigned = await engine().issues.assign({ companyId: server.companyId, issueId, agentId }, actor);
    // The issue is in progress and assigned again: a new assignment wake.
    const assignedRun = await settled(reassigned.wakeup!.run!.id);
    expect(assignedRun).toMatchObject({ sessionIdBefore: null, sessionIdAfter: 's2' });
    expect(await logOf(assignedRun.id)).toContain(`[heartbeat] Skipping saved session resume for task "${issueId}" because wake reason is issue_assigned.`);

    const forced = await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'again', payload: { issueId }, forceFreshSession: true });
    const forcedRun = await settled(forced.run!.id);
    // It said nothing about its session: the task keeps the one it had (§12.4).
    expect(forcedRun).toMatchObject({ sessionIdBefore: null, sessionIdAfter: null });
    expect(await logOf(forcedRun.id)).toContain('because forceFreshSession was requested.');
    expect(await sessionsOf()).toEqual([expect.objectContaining({ taskKey: issueId, sessionParams: { sessionId: 's2' } })]);
    expect((await handed()).slice(1).map((h) => h.env)).toEqual(['', '']);
  });

  it('two issues keep separate sessions; two timer runs share __heartbeat__', async () => {
    await steps({ report: { sessionId: 'a1' } }, { report: { sessionId: 'b1' } }, { report: { sessionId: 't1' } }, { silent: true });
    const a = await issueRun('Issue A');
    const b = await issueRun('Issue B');
    const timer = () => engine().enqueueWakeup({ companyId: server.companyId, agentId, source: 'timer', triggerDetail: 'system', reason: 'heartbeat_timer' });
    const t1 = await settled((await timer()).run!.id);
    const t2 = await settled((await timer()).run!.id);
    expect(t1).toMatchObject({ sessionIdBefore: null, sessionIdAfter: 't1' });
    expect(t2).toMatchObject({ sessionIdBefore: 't1', sessionIdAfter: 't1' });
    const byKey = Object.fromEntries((await sessionsOf()).map((s) => [s.taskKey, s.sessionParams.sessionId]));
    expect(byKey).toEqual({ [a.issueId]: 'a1', [b.issueId]: 'b1', [HEARTBEAT_TASK_KEY]: 't1' });
  });

  it('clearSession forgets the task session; a crash keeps it and records the error', async () => {
    await steps({ report: { sessionId: 's1' } }, { crash: true }, { report: { clearSession: true } });
    const wake = async () => settled((await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'work', payload: { taskKey: 'job-7' } })).run!.id);
    await wake();
    const crashed = await wake();
    expect(crashed).toMatchObject({ status: 'failed', sessionIdBefore: 's1', sessionIdAfter: 's1' });
    expect(crashed.error).toBeTruthy();
    expect(await sessionsOf()).toEqual([expect.objectContaining({ taskKey: 'job-7', sessionParams: { sessionId: 's1' }, lastRunId: crashed.id, lastError: crashed.error })]);
    const cleared = await wake();
    expect(cleared).toMatchObject({ status: 'succeeded', sessionIdBefore: 's1', sessionIdAfter: null });
    expect(await sessionsOf()).toEqual([]);
  });

  it('resumeFromRunId resumes that run session; another agent’s run is refused and nothing is queued', async () => {
    await steps({ report: { sessionId: 'r1' } }, { silent: true });
    const { run: first } = await issueRun('Resume me');
    const resumed = await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'resume', resumeFromRunId: first.id });
    const run = await settled(resumed.run!.id);
    expect(run).toMatchObject({ sessionIdBefore: 'r1', issueId: first.issueId });

    const other = await createAgent(server, {});
    const before = (await runsOf()).length;
    const refused = await engine().enqueueWakeup({ companyId: server.companyId, agentId: other, resumeFromRunId: first.id }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BAD_USER_INPUT' });
    const unknown = await engine().enqueueWakeup({ companyId: server.companyId, agentId, resumeFromRunId: '00000000-0000-4000-8000-000000000009' }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await runsOf()).toHaveLength(before);
  });
});

describe('runs the engine creates resume the session they follow', () => {
  // At the claim, on an engine that is not started (nothing executes), with the contexts the engine
  // gives its follow-ups: the source run's, plus the follow-up's own keys. The task session is s1.
  let f: EngineFixture;
  beforeAll(async () => {
    f = await engineFixture();
  });
  afterAll(() => f?.close());

  async function claimFollowUp(context: Record<string, unknown>) {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id, status: 'in_progress' });
    await f.db.insert(agentTaskSessions).values({ companyId: f.companyId, agentId: agent.id, adapterType: 'script', taskKey: issue.id, sessionParams: { sessionId: 's1' } });
    // The source's context as its claim left it: it was forced fresh, and its decision is not the follow-up's.
    const source = {
      issueId: issue.id,
      taskId: issue.id,
      taskKey: issue.id,
      wakeReason: 'issue_assigned',
      sessionResetReason: 'forceFreshSession was requested',
      session: { id: 'stale', params: { sessionId: 'stale' } },
    };
    const queued = await f.run({ agentId: agent.id, issueId: issue.id, context: { ...source, ...context } });
    const [claimed] = await claimNextRunsForAgent(f.engine.deps, agent.id);
    expect(claimed.run.id).toBe(queued.id);
    return (await f.db.query.heartbeatRuns.findFirst({ where: { id: queued.id } }))!;
  }

  it.each([
    ['a process-loss retry', { wakeReason: 'process_lost_retry', retryReason: 'process_lost' }],
    ['a transient retry', { wakeReason: 'transient_failure_retry', retryReason: 'transient_failure', scheduledRetryAttempt: 1 }],
    ['a liveness continuation', { wakeReason: 'run_liveness_continuation', livenessContinuationAttempt: 1 }],
    ['a codex transient retry at its same-session attempt', { wakeReason: 'transient_failure_retry', codexTransientFallbackMode: 'same_session' }],
  ])('%s resumes s1', async (_, context) => {
    const row = await claimFollowUp(context);
    expect(row.sessionIdBefore).toBe('s1');
    expect(row.contextSnapshot.session).toMatchObject({ id: 's1', params: { sessionId: 's1' } });
    expect(row.contextSnapshot).not.toHaveProperty('sessionResetReason');
  });

  it('a codex transient retry at its fresh_session attempt does not, and says why', async () => {
    const row = await claimFollowUp({ wakeReason: 'transient_failure_retry', codexTransientFallbackMode: 'fresh_session' });
    expect(row.sessionIdBefore).toBeNull();
    expect(row.contextSnapshot).not.toHaveProperty('session');
    expect(row.contextSnapshot.sessionResetReason).toBe('transient fallback mode fresh_session');
  });
});

describe('rotation', () => {
  it('after maxSessionRuns the run starts fresh with the handoff, and its log and usage say why', async () => {
    await engine().updateAgent({ companyId: server.companyId, agentId, sessionPolicy: { maxSessionRuns: 2 } });
    await steps({ report: { sessionId: 's1' } }, { silent: true }, { silent: true }, { report: { sessionId: 's2' } });
    const { issueId } = await issueRun('Long task');
    const second = await comment(issueId);
    const third = await comment(issueId);
    expect([second.sessionIdBefore, third.sessionIdBefore]).toEqual(['s1', 's1']);
    // s1 has now been left by three runs, over the limit of 2.
    const rotated = await comment(issueId);
    expect(rotated).toMatchObject({ sessionIdBefore: null, sessionIdAfter: 's2' });
    expect(rotated.contextSnapshot.sessionRotationReason).toBe('session exceeded 2 runs');
    expect(rotated.contextSnapshot.sessionHandoff).toContain('The previous session (s1) was rotated: session exceeded 2 runs.');
    expect(rotated.contextSnapshot.sessionHandoff).toContain('Continue from the current task state. Rebuild only the minimum context you need.');
    expect(rotated.usageJson).toMatchObject({ sessionRotated: true, sessionRotationReason: 'session exceeded 2 runs' });
    expect(await logOf(rotated.id)).toContain('[heartbeat] Starting a fresh session because session exceeded 2 runs.');
    expect((await handed()).at(-1)).toMatchObject({ env: '', session: null });
  });

  it('refuses a negative or fractional policy value and changes nothing', async () => {
    for (const sessionPolicy of [{ maxSessionRuns: -1 }, { maxSessionAgeHours: 1.5 }]) {
      const error = await engine().updateAgent({ companyId: server.companyId, agentId, sessionPolicy }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    const agent = await db().query.agents.findFirst({ where: { id: agentId } });
    expect(agent!.runtimeConfig).not.toHaveProperty('sessionPolicy');
  });
});
