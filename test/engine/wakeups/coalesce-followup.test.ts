// A wakeup that joins a run already executing, and brings it something it did not receive (a
// payload key or value, a comment id, a directive reason: wake-context.ts unreceivedWakeParts),
// gets ONE follow-up run of the same agent and task scope that receives it; a wakeup that brings
// nothing new just joins the running run. Without an issue the follow-up is a new queued run
// (QUEUED, then COALESCED into it); on an issue it is the deferred wakeup behind the running run
// (DEFERRED, merged into), promoted to a queued run when that run releases the issue.
//
// First against the engine's rows (runs seeded as running, nothing executes), then end to end: a
// process agent that records the context it was handed and waits for the test to let it finish.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns, issues } from '../../../db/schema.ts';
import { claimNextRunsForAgent } from '../../../engine/runs/claim.ts';
import { releaseIssueExecutionAndPromote } from '../../../engine/recovery/issue-release.ts';
import { createAgent, createIssue, enqueue, rawId, runFinished } from '../../support/api.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

describe('follow-up runs, at the rows', () => {
  let f: EngineFixture;
  beforeEach(async () => {
    f = await engineFixture();
  });
  afterEach(() => f.close());

  const wake = (input: Omit<Parameters<EngineFixture['engine']['enqueueWakeup']>[0], 'companyId'>) => f.engine.enqueueWakeup({ companyId: f.companyId, ...input });
  const runsOf = (agentId: string) => f.db.query.heartbeatRuns.findMany({ where: { agentId }, orderBy: { createdAt: 'asc' } });
  const runRow = (id: string) => f.db.query.heartbeatRuns.findFirst({ where: { id } });
  const wakeRow = (id: string) => f.db.query.wakeupRequests.findFirst({ where: { id } });

  describe('without an issue', () => {
    it('a payload the running run did not get: one follow-up (QUEUED), which the next such wakeups join (COALESCED)', async () => {
      const agent = await f.agent();
      const started = { taskKey: 'job', wakeReason: 'deploy', payload: { taskKey: 'job', a: 1 } };
      const running = await f.run({ agentId: agent.id, status: 'running', context: started });

      const first = await wake({ agentId: agent.id, reason: 'more', payload: { taskKey: 'job', b: 2 } });
      expect(first.outcome).toBe('queued');
      expect(first.run).toMatchObject({ status: 'queued', agentId: agent.id });
      expect(first.run!.id).not.toBe(running.id);
      expect(first.wakeupRequest).toMatchObject({ status: 'queued', runId: first.run!.id, coalescedCount: 0 });
      const followupId = first.run!.id;

      const second = await wake({ agentId: agent.id, payload: { taskKey: 'job', b: 3 } });
      const third = await wake({ agentId: agent.id, payload: { taskKey: 'job', c: 4 }, context: { note: 'n' } });
      for (const joined of [second, third]) {
        expect(joined.outcome).toBe('coalesced');
        expect(joined.run!.id).toBe(followupId);
        expect(joined.wakeupRequest).toMatchObject({ status: 'coalesced', coalescedCount: 1, runId: followupId });
      }
      expect((await runsOf(agent.id)).map((r) => r.id)).toEqual([running.id, followupId]);
      // The follow-up has what the wakeups brought, merged; the running run's context is untouched.
      const followup = await runRow(followupId);
      expect(followup!.contextSnapshot).toMatchObject({ taskKey: 'job', wakeReason: 'more', note: 'n', payload: { taskKey: 'job', b: 3, c: 4 } });
      expect((await runRow(running.id))!.contextSnapshot).toEqual(started);
      expect(await wakeRow(first.wakeupRequest.id)).toMatchObject({ coalescedCount: 2 });
      expect(await wakeRow(running.wakeupRequestId!)).toMatchObject({ coalescedCount: 0 });
    });

    it('nothing new (the same payload, a timer tick, a ping): it just joins the running run, whose context stays as it started', async () => {
      const agent = await f.agent({ heartbeat: { enabled: true } });
      const started = { wakeReason: 'deploy', payload: { a: 1, nested: { x: [1, 2] } } };
      const running = await f.run({ agentId: agent.id, status: 'running', context: started });
      const again = [
        await wake({ agentId: agent.id, reason: 'deploy', payload: { nested: { x: [1, 2] }, a: 1 } }),
        await wake({ agentId: agent.id, source: 'timer', triggerDetail: 'system', reason: 'heartbeat_timer', context: { source: 'scheduler', now: new Date().toISOString() } }),
        await wake({ agentId: agent.id, reason: 'ping' }),
        await wake({ agentId: agent.id, payload: { a: 1 } }),
      ];
      for (const joined of again) {
        expect(joined.outcome).toBe('coalesced');
        expect(joined.run!.id).toBe(running.id);
        expect(joined.wakeupRequest).toMatchObject({ status: 'coalesced', coalescedCount: 1, runId: running.id });
      }
      expect(await runsOf(agent.id)).toHaveLength(1);
      expect((await runRow(running.id))!.contextSnapshot).toEqual(started);
      expect(await wakeRow(running.wakeupRequestId!)).toMatchObject({ coalescedCount: 4 });
    });

    it('a comment id or a directive reason the running run did not get is new too; one it got is not', async () => {
      const agent = await f.agent();
      const running = await f.run({ agentId: agent.id, status: 'running', context: { wakeReason: 'issue_commented', wakeCommentIds: ['c1'], commentId: 'c1', wakeCommentId: 'c1' } });
      expect((await wake({ agentId: agent.id, reason: 'issue_commented', payload: { commentId: 'c1' } })).run!.id).toBe(running.id);
      const byComment = await wake({ agentId: agent.id, reason: 'issue_commented', payload: { commentId: 'c2' } });
      expect(byComment.outcome).toBe('queued');
      const byReason = await wake({ agentId: agent.id, reason: 'approval_approved' });
      expect(byReason).toMatchObject({ outcome: 'coalesced', run: { id: byComment.run!.id } });
      expect((await runRow(byComment.run!.id))!.contextSnapshot).toMatchObject({ wakeReason: 'approval_approved', wakeCommentIds: ['c2'] });
      expect(await runsOf(agent.id)).toHaveLength(2);
    });

    it('the follow-up belongs to the scope: another task key gets a run of its own, as ever', async () => {
      const agent = await f.agent();
      const running = await f.run({ agentId: agent.id, status: 'running', context: { taskKey: 'a', payload: { taskKey: 'a' } } });
      const other = await wake({ agentId: agent.id, payload: { taskKey: 'b', x: 1 } });
      const followup = await wake({ agentId: agent.id, payload: { taskKey: 'a', x: 1 } });
      expect([other.outcome, followup.outcome]).toEqual(['queued', 'queued']);
      expect(new Set([running.id, other.run!.id, followup.run!.id]).size).toBe(3);
      expect(followup.run!.contextSnapshot).toMatchObject({ taskKey: 'a' });
    });

    it('concurrent wakeups with new payloads make exactly one follow-up', async () => {
      const agent = await f.agent();
      const running = await f.run({ agentId: agent.id, status: 'running', context: { payload: { n: 0 } } });
      const results = await Promise.all(Array.from({ length: 12 }, (_, n) => wake({ agentId: agent.id, payload: { [`k${n}`]: n } })));
      const runs = await runsOf(agent.id);
      expect(runs).toHaveLength(2);
      const followup = runs.find((r) => r.id !== running.id)!;
      expect(results.filter((r) => r.outcome === 'queued')).toHaveLength(1);
      expect(results.every((r) => r.run!.id === followup.id)).toBe(true);
      expect(Object.keys((followup.contextSnapshot.payload ?? {}) as object).sort()).toEqual(Array.from({ length: 12 }, (_, n) => `k${n}`).sort());
    });

    it('the follow-up waits for a slot like any queued run (maxConcurrentRuns)', async () => {
      const agent = await f.agent();
      const running = await f.run({ agentId: agent.id, status: 'running', context: {} });
      const followup = await wake({ agentId: agent.id, payload: { x: 1 } });
      expect(await claimNextRunsForAgent(f.engine.deps, agent.id)).toEqual([]);
      await f.db.update(heartbeatRuns).set({ status: 'succeeded', finishedAt: new Date() }).where(eq(heartbeatRuns.id, running.id));
      const [claimed] = await claimNextRunsForAgent(f.engine.deps, agent.id);
      expect(claimed.run).toMatchObject({ id: followup.run!.id, status: 'running' });
    });
  });

  describe('on an issue', () => {
    async function issueWithRunningRun() {
      const agent = await f.agent();
      const issue = await f.issue({ assigneeAgentId: agent.id, status: 'in_progress' });
      const started = { issueId: issue.id, taskId: issue.id, taskKey: issue.id, wakeReason: 'issue_assigned', payload: { issueId: issue.id, a: 1 } };
      const running = await f.run({ agentId: agent.id, issueId: issue.id, status: 'running', context: started });
      await f.db.update(issues).set({ executionRunId: running.id, executionAgentNameKey: agent.name.toLowerCase(), executionLockedAt: new Date() }).where(eq(issues.id, issue.id));
      return { agent, issue, running, started };
    }

    it('new payloads: one deferred wakeup behind the running run, the next ones merged into it; promoted when the run releases the issue', async () => {
      const { agent, issue, running, started } = await issueWithRunningRun();
      const first = await wake({ agentId: agent.id, reason: 'more', payload: { issueId: issue.id, b: 2 } });
      const second = await wake({ agentId: agent.id, payload: { issueId: issue.id, b: 3 } });
      const third = await wake({ agentId: agent.id, payload: { issueId: issue.id, c: 4 } });
      for (const deferred of [first, second, third]) {
        expect(deferred).toMatchObject({ outcome: 'deferred', run: null });
        expect(deferred.wakeupRequest).toMatchObject({ id: first.wakeupRequest.id, status: 'deferred_issue_execution' });
      }
      expect(await wakeRow(first.wakeupRequest.id)).toMatchObject({ coalescedCount: 2 });
      expect(await runsOf(agent.id)).toHaveLength(1);
      expect((await runRow(running.id))!.contextSnapshot).toEqual(started);

      await f.db.update(heartbeatRuns).set({ status: 'succeeded', finishedAt: new Date() }).where(eq(heartbeatRuns.id, running.id));
      const { promoted } = await releaseIssueExecutionAndPromote(f.engine.deps, (await runRow(running.id))!);
      expect(promoted).toMatchObject({ agentId: agent.id, issueId: issue.id, status: 'queued', wakeupRequestId: first.wakeupRequest.id });
      expect(promoted!.contextSnapshot).toMatchObject({ issueId: issue.id, wakeReason: 'more', payload: { issueId: issue.id, b: 3, c: 4 } });
      expect(await wakeRow(first.wakeupRequest.id)).toMatchObject({ status: 'queued', runId: promoted!.id });
      // It holds the issue now: what comes next joins it while it is queued.
      const next = await wake({ agentId: agent.id, payload: { issueId: issue.id, d: 5 } });
      expect(next).toMatchObject({ outcome: 'coalesced', run: { id: promoted!.id } });
      expect(await runsOf(agent.id)).toHaveLength(2);
    });

    it('nothing new: coalesced into the running run, no deferred wakeup', async () => {
      const { agent, issue, running, started } = await issueWithRunningRun();
      const results = [
        await wake({ agentId: agent.id, reason: 'ping', payload: { issueId: issue.id } }),
        await wake({ agentId: agent.id, reason: 'issue_assigned', payload: { issueId: issue.id, a: 1 } }),
      ];
      for (const joined of results) {
        expect(joined).toMatchObject({ outcome: 'coalesced', run: { id: running.id } });
        expect(joined.wakeupRequest).toMatchObject({ status: 'coalesced', reason: 'issue_execution_same_name', coalescedCount: 1 });
      }
      expect(await f.db.query.wakeupRequests.findMany({ where: { agentId: agent.id, status: 'deferred_issue_execution' } })).toEqual([]);
      expect((await runRow(running.id))!.contextSnapshot).toEqual(started);
    });

    it('a run that is queued, not yet running, absorbs anything, as before', async () => {
      const agent = await f.agent();
      const issue = await f.issue({ assigneeAgentId: agent.id });
      const queued = await wake({ agentId: agent.id, reason: 'issue_assigned', payload: { issueId: issue.id } });
      const joined = await wake({ agentId: agent.id, payload: { issueId: issue.id, b: 2, commentId: 'c1' } });
      expect(joined).toMatchObject({ outcome: 'coalesced', run: { id: queued.run!.id } });
      expect(joined.run!.contextSnapshot).toMatchObject({ payload: { issueId: issue.id, b: 2, commentId: 'c1' }, wakeCommentIds: ['c1'] });
    });
  });
});

/**
 * A process agent that records the context it was handed (`<dir>/<run id>.json`), leaves a comment
 * on its issue if it has one (so the comment policy does not queue a retry), and finishes once the
 * test creates `<dir>/<run id>.go`.
 */
const RECORDING_AGENT = `
import { existsSync, renameSync, writeFileSync } from 'node:fs';
const [dir] = process.argv.slice(2);
let text = '';
for await (const chunk of process.stdin) text += chunk;
const { context } = JSON.parse(text);
const env = process.env;
const runId = Buffer.from(env.HEARTBEAT_RUN_ID, 'base64').toString('utf8').split(':')[1];
if (env.HEARTBEAT_ISSUE_ID) {
  const response = await fetch(env.HEARTBEAT_API_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + env.HEARTBEAT_RUN_TOKEN },
    body: JSON.stringify({
      query: 'mutation($input: AddIssueCommentInput!) { addIssueComment(input: $input) { comment { id } } }',
      variables: { input: { issueId: env.HEARTBEAT_ISSUE_ID, body: 'working on it' } },
    }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}
writeFileSync(dir + '/' + runId + '.tmp', JSON.stringify(context));
renameSync(dir + '/' + runId + '.tmp', dir + '/' + runId + '.json');
const deadline = Date.now() + 120_000;
while (!existsSync(dir + '/' + runId + '.go')) {
  if (Date.now() > deadline) process.exit(3);
  await new Promise((resolve) => setTimeout(resolve, 10));
}
process.stdout.write(JSON.stringify({ result: { ok: true }, summary: 'done' }) + '\\n');
`;

describe('follow-up runs, end to end', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-followup-'));
    await writeFile(join(dir, 'agent.mjs'), RECORDING_AGENT);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const recordingAgent = () => createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [join(dir, 'agent.mjs'), dir] } });
  /** The context the run's process was handed (waits for the process to have read it). */
  const received = (runId: string) =>
    waitFor(`run ${runId} to record its context`, async () => JSON.parse(await readFile(join(dir, `${runId}.json`), 'utf8')) as Record<string, any>);
  const letFinish = (runId: string) => writeFile(join(dir, `${runId}.go`), '');
  const runsOf = (agentId: string) => server.database.db.query.heartbeatRuns.findMany({ where: { agentId }, orderBy: { createdAt: 'asc' } });

  it('without an issue: the follow-up receives the payloads the running run never got; a wakeup with nothing new makes none', async () => {
    const agentId = await recordingAgent();
    const first = await enqueue(server, { agentId, reason: 'deploy', payload: { taskKey: 'job', a: 1 } });
    expect(first.outcome).toBe('QUEUED');
    const runningId = first.runId!;
    expect((await received(runningId)).payload).toEqual({ taskKey: 'job', a: 1 });

    // Nothing new for the running run: joins it.
    for (const same of [{ reason: 'deploy', payload: { taskKey: 'job', a: 1 } }, { reason: 'ping', payload: { taskKey: 'job' } }]) {
      expect(await enqueue(server, { agentId, ...same })).toMatchObject({ outcome: 'COALESCED', runId: runningId });
    }
    expect(await runsOf(agentId)).toHaveLength(1);

    const news = await enqueue(server, { agentId, reason: 'more', payload: { taskKey: 'job', b: 2 } });
    expect(news).toMatchObject({ outcome: 'QUEUED', run: { status: 'QUEUED' } });
    const followupId = news.runId!;
    expect(followupId).not.toBe(runningId);
    for (const payload of [{ taskKey: 'job', b: 3 }, { taskKey: 'job', c: 4 }]) {
      expect(await enqueue(server, { agentId, payload })).toMatchObject({ outcome: 'COALESCED', runId: followupId, run: { status: 'QUEUED' } });
    }
    expect((await runsOf(agentId)).map((r) => r.id)).toEqual([runningId, followupId]);

    await letFinish(runningId);
    expect((await runFinished(server, runningId)).status).toBe('succeeded');
    const context = await received(followupId);
    expect(context).toMatchObject({ taskKey: 'job', wakeReason: 'more', payload: { taskKey: 'job', b: 3, c: 4 } });
    await letFinish(followupId);
    expect((await runFinished(server, followupId)).status).toBe('succeeded');
    expect(await runsOf(agentId)).toHaveLength(2);
  });

  it('on an issue: the deferred follow-up receives them once the running run released the issue', async () => {
    const agentId = await recordingAgent();
    const { issueId, wakeup } = await createIssue(server, { assigneeAgentId: agentId });
    expect(wakeup?.outcome).toBe('QUEUED');
    const runningId = rawId(wakeup!.run!.id);
    expect(await received(runningId)).toMatchObject({ issueId, wakeReason: 'issue_assigned', payload: { issueId } });

    expect(await enqueue(server, { agentId, issueId, reason: 'ping' })).toMatchObject({ outcome: 'COALESCED', runId: runningId });

    const deferred = [
      await enqueue(server, { agentId, issueId, reason: 'more', payload: { b: 2 } }),
      await enqueue(server, { agentId, issueId, payload: { b: 3 } }),
      await enqueue(server, { agentId, issueId, payload: { c: 4 } }),
    ];
    for (const result of deferred) {
      expect(result).toMatchObject({ outcome: 'DEFERRED', run: null, wakeupRequest: { id: deferred[0].wakeupRequest.id } });
    }
    expect(await runsOf(agentId)).toHaveLength(1);

    await letFinish(runningId);
    expect((await runFinished(server, runningId)).status).toBe('succeeded');
    const followup = await waitFor('the promoted follow-up', async () => (await runsOf(agentId)).find((r) => r.id !== runningId));
    expect(followup.issueId).toBe(issueId);
    const wake = await server.database.db.query.wakeupRequests.findFirst({ where: { id: rawId(deferred[0].wakeupRequest.id) } });
    expect(wake).toMatchObject({ runId: followup.id, reason: 'issue_execution_promoted', coalescedCount: 2 });
    expect(await received(followup.id)).toMatchObject({ issueId, wakeReason: 'more', payload: { issueId, b: 3, c: 4 } });
    await letFinish(followup.id);
    expect((await runFinished(server, followup.id)).status).toBe('succeeded');
    expect(await runsOf(agentId)).toHaveLength(2);
  });
});
