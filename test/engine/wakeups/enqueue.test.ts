// enqueueWakeup, one test per rule of engine-spec §6.1 (and Decisions 5, 7).
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns, issues, wakeupRequests } from '../../../db/schema.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const wake = (input: Parameters<EngineFixture['engine']['enqueueWakeup']>[0]) => f.engine.enqueueWakeup(input);
const runsOf = (agentId: string) => f.db.query.heartbeatRuns.findMany({ where: { agentId }, orderBy: { createdAt: 'asc' } });
const wakesOf = (agentId: string) => f.db.query.wakeupRequests.findMany({ where: { agentId }, orderBy: { createdAt: 'asc' } });
const issueRow = (id: string) => f.db.query.issues.findFirst({ where: { id } });

describe('§6.1 step 1–2: agent and policy gates', () => {
  it('1: an unknown agent, or one of another company, is NOT_FOUND', async () => {
    const agent = await f.agent();
    await expect(wake({ companyId: f.companyId, agentId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(wake({ companyId: '00000000-0000-4000-8000-000000000001', agentId: agent.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await wakesOf(agent.id)).toEqual([]);
  });

  it('2: the canInvoke port refusing records a skipped `budget.blocked` wakeup and answers CONFLICT', async () => {
    f.engine.deps.canInvoke = { check: async () => ({ allowed: false, reason: 'Monthly budget exhausted' }) };
    const agent = await f.agent();
    const error = await wake({ companyId: f.companyId, agentId: agent.id, payload: { x: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeartbeatError);
    expect(error).toMatchObject({ code: 'CONFLICT' });
    const [row] = await wakesOf(agent.id);
    expect(row).toMatchObject({ status: 'skipped', reason: 'budget.blocked', payload: { x: 1 } });
    expect(row.finishedAt).not.toBeNull();
  });

  it.each(['paused', 'terminated', 'pending_approval'] as const)('2: a %s agent is not invokable: CONFLICT and no row', async (status) => {
    const agent = await f.agent({ status });
    await expect(wake({ companyId: f.companyId, agentId: agent.id })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await wakesOf(agent.id)).toEqual([]);
  });

  it('2: a timer wakeup while the heartbeat is disabled is skipped `heartbeat.disabled`', async () => {
    const agent = await f.agent({ heartbeat: { enabled: false } });
    const result = await wake({ companyId: f.companyId, agentId: agent.id, source: 'timer', reason: 'heartbeat_timer' });
    expect(result.outcome).toBe('skipped');
    expect(result.wakeupRequest).toMatchObject({ status: 'skipped', reason: 'heartbeat.disabled', runId: null });
    expect(await runsOf(agent.id)).toEqual([]);
  });

  it('2: a non-timer wakeup with wakeOnDemand off is skipped `heartbeat.wakeOnDemand.disabled`, keeping payload, actor and key', async () => {
    const agent = await f.agent({ heartbeat: { wakeOnDemand: false } });
    const result = await wake({
      companyId: f.companyId,
      agentId: agent.id,
      payload: { note: 'hi' },
      actor: { type: 'user', id: 'u1' },
      idempotencyKey: 'k-skip',
    });
    expect(result.wakeupRequest).toMatchObject({
      status: 'skipped',
      reason: 'heartbeat.wakeOnDemand.disabled',
      payload: { note: 'hi' },
      requestedByActorType: 'user',
      requestedByActorId: 'u1',
      idempotencyKey: 'k-skip',
    });
    expect(result.wakeupRequest.finishedAt).toEqual(f.clock.now());
  });

  it('2: wakeOnDemand falls back to wakeOnAssignment', async () => {
    const agent = await f.agent({ heartbeat: { wakeOnAssignment: false } });
    const result = await wake({ companyId: f.companyId, agentId: agent.id });
    expect(result.wakeupRequest.reason).toBe('heartbeat.wakeOnDemand.disabled');
  });
});

describe('§6.1 step 3: the issue path', () => {
  it('3a: an issue that does not exist is skipped `issue_execution_issue_not_found`', async () => {
    const agent = await f.agent();
    const result = await wake({ companyId: f.companyId, agentId: agent.id, payload: { issueId: '00000000-0000-4000-8000-000000000009' } });
    expect(result).toMatchObject({ outcome: 'skipped', run: null });
    expect(result.wakeupRequest.reason).toBe('issue_execution_issue_not_found');
  });

  it('3f: no active run: a queued wakeup and run, linked, with the enriched context', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const result = await wake({
      companyId: f.companyId,
      agentId: agent.id,
      source: 'assignment',
      triggerDetail: 'system',
      reason: 'issue_assigned',
      payload: { issueId: issue.id },
      context: { livenessContinuationAttempt: 2 },
    });
    expect(result.outcome).toBe('queued');
    expect(result.run).toMatchObject({ status: 'queued', issueId: issue.id, invocationSource: 'assignment', triggerDetail: 'system', continuationAttempt: 2, wakeupRequestId: result.wakeupRequest.id });
    expect(result.wakeupRequest).toMatchObject({ status: 'queued', runId: result.run!.id });
    expect(result.run!.contextSnapshot).toMatchObject({ issueId: issue.id, taskId: issue.id, taskKey: issue.id, wakeReason: 'issue_assigned', wakeSource: 'assignment', wakeTriggerDetail: 'system' });
    // The lock is lazy: enqueue never stamps it.
    expect((await issueRow(issue.id))!.executionRunId).toBeNull();
    expect(f.published.some((e) => e.type === 'heartbeat.run.queued' && e.runId === result.run!.id)).toBe(true);
  });

  it('3e: the same agent already on the issue: coalesced into its run, context merged', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const first = await wake({ companyId: f.companyId, agentId: agent.id, reason: 'issue_assigned', payload: { issueId: issue.id } });
    await f.db.update(issues).set({ executionRunId: first.run!.id }).where(eq(issues.id, issue.id));
    const second = await wake({ companyId: f.companyId, agentId: agent.id, reason: 'ping', payload: { issueId: issue.id, extra: 1 }, context: { note: 'merged' } });
    expect(second.outcome).toBe('coalesced');
    expect(second.run!.id).toBe(first.run!.id);
    expect(second.wakeupRequest).toMatchObject({ status: 'coalesced', reason: 'issue_execution_same_name', coalescedCount: 1, runId: first.run!.id });
    expect(second.run!.contextSnapshot).toMatchObject({ note: 'merged', issueId: issue.id });
    expect(await runsOf(agent.id)).toHaveLength(1);
  });

  it('3e: the same agent running, woken with a comment (a follow-up): deferred until it ends', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const running = await f.run({ agentId: agent.id, issueId: issue.id, status: 'running' });
    await f.db.update(issues).set({ executionRunId: running.id }).where(eq(issues.id, issue.id));
    const result = await wake({ companyId: f.companyId, agentId: agent.id, reason: 'issue_commented', payload: { issueId: issue.id, commentId: 'c1' } });
    expect(result.outcome).toBe('deferred');
    expect(result.wakeupRequest).toMatchObject({ status: 'deferred_issue_execution', reason: 'issue_execution_deferred' });
  });

  it('3e (Decisions 7): another agent holds the issue: deferred; a second deferral merges into the first row', async () => {
    const [owner, other] = [await f.agent({ name: 'Same Name' }), await f.agent({ name: 'same name ' })];
    const issue = await f.issue({ assigneeAgentId: other.id });
    const running = await f.run({ agentId: owner.id, issueId: issue.id, status: 'running' });
    await f.db.update(issues).set({ executionRunId: running.id }).where(eq(issues.id, issue.id));
    // Equal name keys do not make them the same agent: ids decide.
    const first = await wake({ companyId: f.companyId, agentId: other.id, reason: 'issue_assigned', payload: { issueId: issue.id, a: 1 }, context: { one: true } });
    const second = await wake({ companyId: f.companyId, agentId: other.id, reason: 'issue_commented', payload: { issueId: issue.id, commentId: 'c9', b: 2 } });
    expect(first.outcome).toBe('deferred');
    expect(second.outcome).toBe('deferred');
    expect(second.wakeupRequest.id).toBe(first.wakeupRequest.id);
    expect(second.wakeupRequest.coalescedCount).toBe(1);
    expect(second.wakeupRequest.payload).toMatchObject({ issueId: issue.id, a: 1, b: 2, _deferredWakeContext: { one: true, wakeCommentIds: ['c9'], commentId: 'c9' } });
    expect(await runsOf(other.id)).toEqual([]);
  });

  it('3b: a scheduled retry of an agent that is no longer the assignee is cancelled and ignored', async () => {
    const [old, assignee] = [await f.agent(), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: assignee.id });
    const retry = await f.run({ agentId: old.id, issueId: issue.id, status: 'scheduled_retry' });
    await f.db.update(issues).set({ executionRunId: retry.id }).where(eq(issues.id, issue.id));
    const result = await wake({ companyId: f.companyId, agentId: assignee.id, reason: 'issue_assigned', payload: { issueId: issue.id } });
    expect(result.outcome).toBe('queued');
    const cancelled = await f.db.query.heartbeatRuns.findFirst({ where: { id: retry.id } });
    expect(cancelled).toMatchObject({ status: 'cancelled', errorCode: 'issue_reassigned' });
    expect(cancelled!.error).toBe('Cancelled because the issue was reassigned before the scheduled retry became due');
    const events = await f.db.query.runEvents.findMany({ where: { runId: retry.id } });
    expect(events[0]).toMatchObject({ level: 'warn', payload: { previousRetryAgentId: old.id, currentAssigneeAgentId: assignee.id } });
  });

  it('3b: a lock pointing at a finished run is cleared', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const done = await f.run({ agentId: agent.id, issueId: issue.id, status: 'succeeded' });
    await f.db.update(issues).set({ executionRunId: done.id }).where(eq(issues.id, issue.id));
    const result = await wake({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id } });
    expect(result.outcome).toBe('queued');
    expect((await issueRow(issue.id))!.executionRunId).toBeNull();
  });

  it('3c: an unlocked exec-path run of the issue adopts the lock (running before queued)', async () => {
    const [a, b] = [await f.agent(), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: b.id });
    await f.run({ agentId: a.id, issueId: issue.id, status: 'queued', createdAt: new Date('2025-01-01') });
    const running = await f.run({ agentId: a.id, issueId: issue.id, status: 'running' });
    const result = await wake({ companyId: f.companyId, agentId: b.id, payload: { issueId: issue.id } });
    expect(result.outcome).toBe('deferred');
    const locked = await issueRow(issue.id);
    expect(locked).toMatchObject({ executionRunId: running.id, executionAgentNameKey: a.name.toLowerCase() });
  });

  it('3d: unresolved blockers and no active run: skipped `issue_dependencies_blocked` with the blocker ids', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const blocker = await f.issue();
    await f.block(issue.id, blocker.id);
    const result = await wake({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id } });
    expect(result.outcome).toBe('skipped');
    expect(result.wakeupRequest).toMatchObject({ reason: 'issue_dependencies_blocked', payload: { issueId: issue.id, unresolvedBlockerIssueIds: [blocker.id] } });
  });

  it('3d: a blocker that is done or cancelled no longer blocks (Decisions 6)', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    await f.block(issue.id, (await f.issue({ status: 'done' })).id);
    await f.block(issue.id, (await f.issue({ status: 'cancelled' })).id);
    expect((await wake({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id } })).outcome).toBe('queued');
  });

  it('3d: an interaction wake on a blocked issue proceeds, its context noting the blockers', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const blocker = await f.issue();
    await f.block(issue.id, blocker.id);
    const result = await wake({ companyId: f.companyId, agentId: agent.id, reason: 'issue_comment_mentioned', payload: { issueId: issue.id, commentId: 'c1' } });
    expect(result.outcome).toBe('queued');
    expect(result.run!.contextSnapshot).toMatchObject({
      dependencyBlockedInteraction: true,
      unresolvedBlockerIssueIds: [blocker.id],
      unresolvedBlockerCount: 1,
      unresolvedBlockerSummaries: [{ id: blocker.id, identifier: blocker.identifier }],
    });
  });
});

describe('§6.1 step 4: without an issue, by task scope', () => {
  it('4: a queued run of the same scope absorbs the wakeup (coalesced, given reason, no new run)', async () => {
    const agent = await f.agent();
    const first = await wake({ companyId: f.companyId, agentId: agent.id, reason: 'first' });
    const second = await wake({ companyId: f.companyId, agentId: agent.id, reason: 'second', context: { extra: true } });
    expect(second).toMatchObject({ outcome: 'coalesced', startAgentId: null });
    expect(second.run!.id).toBe(first.run!.id);
    expect(second.wakeupRequest).toMatchObject({ status: 'coalesced', reason: 'second', runId: first.run!.id });
    expect(second.run!.contextSnapshot).toMatchObject({ extra: true, wakeReason: 'second' });
  });

  it('4: a scheduled retry of the same scope absorbs it too', async () => {
    const agent = await f.agent();
    const retry = await f.run({ agentId: agent.id, status: 'scheduled_retry' });
    const result = await wake({ companyId: f.companyId, agentId: agent.id });
    expect(result.outcome).toBe('coalesced');
    expect(result.run!.id).toBe(retry.id);
  });

  it('4: a running run of the same scope absorbs it, unless the wakeup is a follow-up (comment)', async () => {
    const agent = await f.agent();
    const running = await f.run({ agentId: agent.id, status: 'running' });
    expect((await wake({ companyId: f.companyId, agentId: agent.id })).run!.id).toBe(running.id);
    const followup = await wake({ companyId: f.companyId, agentId: agent.id, payload: { commentId: 'c1' } });
    expect(followup.outcome).toBe('queued');
    expect(followup.run!.id).not.toBe(running.id);
  });

  it('4: different task keys are different scopes', async () => {
    const agent = await f.agent();
    const a = await wake({ companyId: f.companyId, agentId: agent.id, payload: { taskKey: 'a' } });
    const b = await wake({ companyId: f.companyId, agentId: agent.id, payload: { taskKey: 'b' } });
    const a2 = await wake({ companyId: f.companyId, agentId: agent.id, payload: { taskKey: 'a' } });
    expect([a.outcome, b.outcome, a2.outcome]).toEqual(['queued', 'queued', 'coalesced']);
    expect(a2.run!.id).toBe(a.run!.id);
  });
});

describe('Decisions 5: idempotency keys', () => {
  it('a second request with the key returns the first wakeup and run, outcome duplicate, and creates nothing', async () => {
    const agent = await f.agent();
    const first = await wake({ companyId: f.companyId, agentId: agent.id, idempotencyKey: 'once' });
    const again = await wake({ companyId: f.companyId, agentId: agent.id, idempotencyKey: 'once', reason: 'different' });
    expect(again.outcome).toBe('duplicate');
    expect(again.wakeupRequest.id).toBe(first.wakeupRequest.id);
    expect(again.run!.id).toBe(first.run!.id);
    expect(await wakesOf(agent.id)).toHaveLength(1);
  });

  it('racing requests with one key create exactly one wakeup', async () => {
    const agent = await f.agent();
    const results = await Promise.all(Array.from({ length: 8 }, () => wake({ companyId: f.companyId, agentId: agent.id, idempotencyKey: 'race', payload: { taskKey: 'r' } })));
    expect(new Set(results.map((r) => r.wakeupRequest.id)).size).toBe(1);
    expect(results.filter((r) => r.outcome !== 'duplicate')).toHaveLength(1);
    expect(await f.db.select().from(wakeupRequests).where(eq(wakeupRequests.agentId, agent.id))).toHaveLength(1);
    expect(await f.db.select().from(heartbeatRuns).where(eq(heartbeatRuns.agentId, agent.id))).toHaveLength(1);
  });

  it('keys are per agent', async () => {
    const [a, b] = [await f.agent(), await f.agent()];
    expect((await wake({ companyId: f.companyId, agentId: a.id, idempotencyKey: 'k' })).outcome).toBe('queued');
    expect((await wake({ companyId: f.companyId, agentId: b.id, idempotencyKey: 'k' })).outcome).toBe('queued');
  });
});
