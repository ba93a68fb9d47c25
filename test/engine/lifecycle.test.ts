// Release and promotion (§6.9 1–2), cancellation bookkeeping (§6.13), agent status (§6.15),
// timers with an injected clock (§6.15), instance leases, live events after commit.
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns, issues } from '../../db/schema.ts';
import { transact } from '../../engine/deps.ts';
import { LEASE_TTL_MS, deregisterInstance, registerInstance, renewInstanceLease } from '../../engine/instances.ts';
import { releaseIssueExecutionAndPromote } from '../../engine/release.ts';
import { type EngineFixture, engineFixture } from '../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const runRow = (id: string) => f.db.query.heartbeatRuns.findFirst({ where: { id } });
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

describe('§6.13 cancellation', () => {
  it('cancelRun on a queued run: cancelled with stop metadata, wakeup cancelled, one event, the lock released', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const queued = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id } });
    await f.db.update(issues).set({ executionRunId: queued.run!.id }).where(eq(issues.id, issue.id));
    const run = await f.engine.cancelRun({ companyId: f.companyId, runId: queued.run!.id });
    expect(run).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', error: 'Cancelled by control plane', finishedAt: f.clock.now() });
    expect(run.resultJson).toMatchObject({ stopReason: 'cancelled', effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutFired: false });
    expect((await f.db.query.wakeupRequests.findFirst({ where: { id: run.wakeupRequestId! } }))!.status).toBe('cancelled');
    const events = await f.db.query.runEvents.findMany({ where: { runId: run.id } });
    expect(events.map((e) => [e.seq, e.message])).toEqual([[1, 'run cancelled']]);
    expect((await issueRow(issue.id))!.executionRunId).toBeNull();
  });

  it('cancelRun of a missing run is NOT_FOUND; of another company, too', async () => {
    await expect(f.engine.cancelRun({ runId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const agent = await f.agent();
    const run = await f.run({ agentId: agent.id });
    await expect(f.engine.cancelRun({ companyId: '00000000-0000-4000-8000-000000000001', runId: run.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await runRow(run.id))!.status).toBe('queued');
  });

  it('a "pause" reason is recorded as stopReason paused; "budget" as budget_paused', async () => {
    const agent = await f.agent();
    const [a, b] = [await f.run({ agentId: agent.id }), await f.run({ agentId: agent.id })];
    expect((await f.engine.cancelRun({ runId: a.id, reason: 'Cancelled due to agent pause' })).resultJson).toMatchObject({ stopReason: 'paused' });
    expect((await f.engine.cancelRun({ runId: b.id, reason: 'Over budget' })).resultJson).toMatchObject({ stopReason: 'budget_paused' });
  });

  it('pauseAgent cancels every queued, scheduled and running run of the agent and releases their locks', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const runs = [await f.run({ agentId: agent.id }), await f.run({ agentId: agent.id, status: 'scheduled_retry' }), await f.run({ agentId: agent.id, issueId: issue.id, status: 'running' })];
    await f.db.update(issues).set({ executionRunId: runs[2].id }).where(eq(issues.id, issue.id));
    const done = await f.run({ agentId: agent.id, status: 'succeeded' });
    const paused = await f.engine.pauseAgent({ companyId: f.companyId, agentId: agent.id });
    expect(paused.status).toBe('paused');
    for (const run of runs) expect(await runRow(run.id)).toMatchObject({ status: 'cancelled', error: 'Cancelled due to agent pause', resultJson: { stopReason: 'paused' } });
    expect((await runRow(done.id))!.status).toBe('succeeded');
    expect((await issueRow(issue.id))!.executionRunId).toBeNull();
    // Resuming makes it invokable again.
    expect((await f.engine.resumeAgent({ companyId: f.companyId, agentId: agent.id })).status).toBe('idle');
    expect((await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id })).outcome).toBe('queued');
  });

  it('§6.15: the first heartbeat of an agent calls the hook with its role', async () => {
    const seen: unknown[] = [];
    f.engine.deps.onFirstHeartbeat = (input) => seen.push(input);
    const agent = await f.agent();
    const run = await f.run({ agentId: agent.id });
    await f.engine.cancelRun({ runId: run.id });
    expect(seen).toEqual([{ agentId: agent.id, agentRole: 'general' }]);
    const after = await f.db.query.agents.findFirst({ where: { id: agent.id } });
    expect(after).toMatchObject({ status: 'idle', lastHeartbeatAt: f.clock.now() });
  });
});

describe('§6.15 timers (injected clock)', () => {
  it('wakes an enabled agent once its interval has elapsed since its last heartbeat (or creation)', async () => {
    const due = await f.agent({ heartbeat: { enabled: true, intervalSec: 60 } });
    await f.agent({ heartbeat: { enabled: false, intervalSec: 60 } });
    await f.agent({ heartbeat: { enabled: true, intervalSec: 0 } });
    await f.agent({ status: 'paused', heartbeat: { enabled: true, intervalSec: 60 } });

    expect(await f.engine.tickTimers(new Date(f.clock.now().getTime() + 59_000))).toEqual({ checked: 1, enqueued: 0, skipped: 0 });
    const tick = await f.engine.tickTimers(new Date(f.clock.now().getTime() + 60_000));
    expect(tick).toEqual({ checked: 1, enqueued: 1, skipped: 0 });
    const [run] = await f.db.query.heartbeatRuns.findMany({ where: { agentId: due.id } });
    expect(run).toMatchObject({ invocationSource: 'timer', triggerDetail: 'system', status: 'queued' });
    expect(run.contextSnapshot).toMatchObject({ wakeReason: 'heartbeat_timer', source: 'scheduler', reason: 'interval_elapsed' });
    const wake = await f.db.query.wakeupRequests.findFirst({ where: { id: run.wakeupRequestId! } });
    expect(wake).toMatchObject({ source: 'timer', reason: 'heartbeat_timer', requestedByActorType: 'system', requestedByActorId: 'heartbeat_scheduler' });

    // While that run is pending, further ticks do not pile up wakeups.
    expect(await f.engine.tickTimers(new Date(f.clock.now().getTime() + 120_000))).toEqual({ checked: 1, enqueued: 0, skipped: 1 });
    const wakes = await f.db.query.wakeupRequests.findMany({ where: { agentId: due.id } });
    expect(wakes.map((w) => [w.status, w.reason]), JSON.stringify(wakes)).toHaveLength(1);
  });
});

describe('instance leases', () => {
  it('registers with a lease of three beats, renews it, and ends it on deregistration', async () => {
    const { id } = await registerInstance(f.db, f.clock);
    const row = () => f.db.query.engineInstances.findFirst({ where: { id } });
    expect((await row())!.leaseExpiresAt.getTime()).toBe(f.clock.now().getTime() + LEASE_TTL_MS);
    f.clock.advance(2_000);
    await renewInstanceLease(f.db, f.clock, id);
    expect((await row())!.leaseExpiresAt.getTime()).toBe(f.clock.now().getTime() + LEASE_TTL_MS);
    await deregisterInstance(f.db, f.clock, id);
    expect(await row()).toMatchObject({ stoppedAt: f.clock.now(), leaseExpiresAt: f.clock.now() });
  });

  it('a started engine registers itself and ends its lease when it stops', async () => {
    await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
    const id = f.engine.instanceId;
    const row = () => f.db.query.engineInstances.findFirst({ where: { id } });
    expect(await row()).toMatchObject({ pid: process.pid, stoppedAt: null });
    expect((await row())!.leaseExpiresAt.getTime()).toBeGreaterThan(f.clock.now().getTime());
    await f.engine.stop();
    expect(await row()).toMatchObject({ stoppedAt: f.clock.now(), leaseExpiresAt: f.clock.now() });
  });
});

describe('live events', () => {
  it('are published after the commit, and never for a rolled-back transaction', async () => {
    const agent = await f.agent();
    const before = f.published.length;
    await expect(
      transact(f.engine.deps, async (_tx, events) => {
        events.push({ type: 'agent.status', companyId: f.companyId, agentId: agent.id, status: 'idle', lastHeartbeatAt: null, outcome: 'x' });
        expect(f.published.length).toBe(before); // not yet: still inside the transaction
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(f.published.length).toBe(before);

    const result = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id });
    const queued = f.published.slice(before).find((e) => e.type === 'heartbeat.run.queued');
    expect(queued).toMatchObject({ runId: result.run!.id, agentId: agent.id, companyId: f.companyId, wakeupRequestId: result.wakeupRequest.id });
  });
});
