// Cancellation bookkeeping (§6.13): cancelRun and pauseAgent, with the agent status they leave
// (§6.15, the first-heartbeat hook).
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issues } from '../../../db/schema.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const runRow = (id: string) => f.db.query.heartbeatRuns.findFirst({ where: { id } });
const issueRow = (id: string) => f.db.query.issues.findFirst({ where: { id } });

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
