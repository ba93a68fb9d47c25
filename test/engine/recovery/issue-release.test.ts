// Release and promotion (§6.9 1–2): a finished run releases the issue's execution lock, and the
// oldest deferred wakeup of the issue becomes a queued run that takes it.
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns, issues } from '../../../db/schema.ts';
import { releaseIssueExecutionAndPromote } from '../../../engine/recovery/issue-release.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const issueRow = (id: string) => f.db.query.issues.findFirst({ where: { id } });

describe('§6.9 release and promotion', () => {
  it('1: releasing clears the lock the run holds', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const run = await f.run({ agentId: agent.id, issueId: issue.id, status: 'succeeded' });
    await f.db.update(issues).set({ executionRunId: run.id, executionAgentNameKey: 'x', executionLockedAt: new Date() }).where(eq(issues.id, issue.id));
    const { promoted } = await releaseIssueExecutionAndPromote(f.engine.deps, run);
    expect(promoted).toBeNull();
    expect(await issueRow(issue.id)).toMatchObject({ executionRunId: null, executionAgentNameKey: null, executionLockedAt: null });
  });

  it('1: a lock held by another run is left alone and nothing is promoted', async () => {
    const [a, b] = [await f.agent(), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: b.id });
    const holder = await f.run({ agentId: a.id, issueId: issue.id, status: 'running' });
    const ended = await f.run({ agentId: a.id, issueId: issue.id, status: 'failed' });
    await f.db.update(issues).set({ executionRunId: holder.id }).where(eq(issues.id, issue.id));
    await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: b.id, payload: { issueId: issue.id } });
    expect((await releaseIssueExecutionAndPromote(f.engine.deps, ended)).promoted).toBeNull();
    expect((await issueRow(issue.id))!.executionRunId).toBe(holder.id);
  });

  it('2: the oldest deferred wakeup becomes a queued run on the same wakeup row, and takes the lock for the assignee', async () => {
    const [owner, assignee] = [await f.agent(), await f.agent({ name: 'Assignee' })];
    const issue = await f.issue({ assigneeAgentId: assignee.id });
    const running = await f.run({ agentId: owner.id, issueId: issue.id, status: 'running' });
    await f.db.update(issues).set({ executionRunId: running.id }).where(eq(issues.id, issue.id));
    const deferred = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: assignee.id, reason: 'issue_assigned', payload: { issueId: issue.id }, context: { note: 'kept' } });
    expect(deferred.outcome).toBe('deferred');
    await f.db.update(heartbeatRuns).set({ status: 'succeeded' }).where(eq(heartbeatRuns.id, running.id));

    const { promoted } = await releaseIssueExecutionAndPromote(f.engine.deps, { ...running, status: 'succeeded' });
    expect(promoted).toMatchObject({ status: 'queued', agentId: assignee.id, issueId: issue.id, wakeupRequestId: deferred.wakeupRequest.id });
    expect(promoted!.contextSnapshot).toMatchObject({ note: 'kept', issueId: issue.id, wakeReason: 'issue_assigned' });
    const wake = await f.db.query.wakeupRequests.findFirst({ where: { id: deferred.wakeupRequest.id } });
    expect(wake).toMatchObject({ status: 'queued', reason: 'issue_execution_promoted', runId: promoted!.id, finishedAt: null });
    expect(await issueRow(issue.id)).toMatchObject({ executionRunId: promoted!.id, executionAgentNameKey: 'assignee' });
    expect(f.published.some((e) => e.type === 'heartbeat.run.queued' && e.runId === promoted!.id)).toBe(true);
  });

  it('2: a deferred wakeup of an agent that can no longer run fails; the next one is promoted', async () => {
    const [owner, paused, ready] = [await f.agent(), await f.agent(), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: ready.id });
    const running = await f.run({ agentId: owner.id, issueId: issue.id, status: 'running' });
    await f.db.update(issues).set({ executionRunId: running.id }).where(eq(issues.id, issue.id));
    const first = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: paused.id, payload: { issueId: issue.id } });
    f.clock.advance(1000);
    const second = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: ready.id, payload: { issueId: issue.id } });
    await f.engine.pauseAgent({ companyId: f.companyId, agentId: paused.id });
    const { promoted } = await releaseIssueExecutionAndPromote(f.engine.deps, running);
    expect(promoted!.wakeupRequestId).toBe(second.wakeupRequest.id);
    const failed = await f.db.query.wakeupRequests.findFirst({ where: { id: first.wakeupRequest.id } });
    expect(failed).toMatchObject({ status: 'failed', error: 'Deferred wake could not be promoted: agent is not invokable' });
  });

  it('2: a deferred comment wakeup from a person reopens a done issue', async () => {
    const [owner, assignee] = [await f.agent(), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: assignee.id });
    const running = await f.run({ agentId: owner.id, issueId: issue.id, status: 'running' });
    await f.db.update(issues).set({ executionRunId: running.id }).where(eq(issues.id, issue.id));
    await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: assignee.id, reason: 'issue_commented', payload: { issueId: issue.id, commentId: 'c1' }, actor: { type: 'user', id: 'u' } });
    await f.db.update(issues).set({ status: 'done' }).where(eq(issues.id, issue.id));
    const { promoted } = await releaseIssueExecutionAndPromote(f.engine.deps, running);
    expect(promoted!.contextSnapshot).toMatchObject({ reopenedFrom: 'done' });
    expect((await issueRow(issue.id))!.status).toBe('todo');
  });
});
