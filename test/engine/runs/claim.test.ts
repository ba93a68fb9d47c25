// Claiming: engine-spec §6.2 (order, slots) and §6.3 (gates, guarded claim), one test per rule.
import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns, issues } from '../../../db/schema.ts';
import { hashApiKey } from '../../../engine/access/api-keys.ts';
import { claimNextRunsForAgent } from '../../../engine/runs/claim.ts';
import { lockCandidates } from '../../../engine/runs/claim-order.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const claim = (agentId: string) => claimNextRunsForAgent(f.engine.deps, agentId);
const runRow = (id: string) => f.db.query.heartbeatRuns.findFirst({ where: { id } });

describe('§6.2 startNextQueuedRunForAgent', () => {
  it('claims up to maxConcurrentRuns minus the runs already running', async () => {
    const agent = await f.agent({ heartbeat: { maxConcurrentRuns: 3 } });
    await f.run({ agentId: agent.id, status: 'running' });
    for (let i = 0; i < 4; i++) await f.run({ agentId: agent.id, context: { taskKey: `t${i}` } });
    expect(await claim(agent.id)).toHaveLength(2);
    expect(await claim(agent.id)).toHaveLength(0);
  });

  it('the default limit is 1 (Decisions 1), and it is clamped to the server limit', async () => {
    const single = await f.agent();
    await f.run({ agentId: single.id });
    await f.run({ agentId: single.id });
    expect(await claim(single.id)).toHaveLength(1);
    f.engine.deps.settings.maxConcurrentRunsLimit = 2;
    const greedy = await f.agent({ heartbeat: { maxConcurrentRuns: 50 } });
    for (let i = 0; i < 5; i++) await f.run({ agentId: greedy.id });
    expect(await claim(greedy.id)).toHaveLength(2);
  });

  it('a paused or missing agent claims nothing', async () => {
    const agent = await f.agent({ status: 'paused' });
    await f.run({ agentId: agent.id });
    expect(await claim(agent.id)).toEqual([]);
    expect(await claim('00000000-0000-4000-8000-000000000000')).toEqual([]);
  });

  /**
   * One of each claim group and priority for one agent: a run on a blocked critical issue (oldest),
   * ready low and high, one in progress, and two without an issue. `order`: the claim order.
   */
  async function queueOfEveryKind() {
    const agent = await f.agent({ heartbeat: { maxConcurrentRuns: 10 } });
    const t = (minutes: number) => new Date(Date.UTC(2025, 0, 1, 0, minutes));
    const blocker = await f.issue();
    const blockedIssue = await f.issue({ assigneeAgentId: agent.id, priority: 'critical' });
    await f.block(blockedIssue.id, blocker.id);
    const readyLow = await f.issue({ assigneeAgentId: agent.id, priority: 'low' });
    const readyHigh = await f.issue({ assigneeAgentId: agent.id, priority: 'high' });
    const inProgress = await f.issue({ assigneeAgentId: agent.id, status: 'in_progress', priority: 'low' });
    const runs = {
      noIssueOld: await f.run({ agentId: agent.id, createdAt: t(1) }),
      blocked: await f.run({ agentId: agent.id, issueId: blockedIssue.id, createdAt: t(0), context: { wakeReason: 'issue_commented', commentId: 'c' } }),
      readyLow: await f.run({ agentId: agent.id, issueId: readyLow.id, createdAt: t(2) }),
      readyHigh: await f.run({ agentId: agent.id, issueId: readyHigh.id, createdAt: t(3) }),
      noIssueNew: await f.run({ agentId: agent.id, createdAt: t(4) }),
      inProgress: await f.run({ agentId: agent.id, issueId: inProgress.id, createdAt: t(5) }),
    };
    const order = [runs.inProgress, runs.readyHigh, runs.readyLow, runs.noIssueOld, runs.noIssueNew, runs.blocked].map((run) => run.id);
    return { agent, order };
  }

  it('orders by group (ready in-progress issue, ready issue, no issue, blocked issue), then priority, then age', async () => {
    const { agent, order } = await queueOfEveryKind();
    expect((await claim(agent.id)).map((c) => c.run.id)).toEqual(order);
  });

  it('with fewer slots than queued runs, locks the first in that order, skipping runs another transaction holds', async () => {
    const { agent, order } = await queueOfEveryKind();
    const candidates = (slots: number) =>
      f.db.transaction(async (tx) => (await lockCandidates(tx, [{ agent, slots }])).byAgent.get(agent.id)!.map((run) => run.id));
    for (let slots = 1; slots <= 6; slots++) expect(await candidates(slots)).toEqual(order.slice(0, slots));
    // Another transaction holds the first two: the next ones are taken in their place. With slots
    // left unfilled because of them, the agent is named as one whose runs were skipped.
    const skipped = (slots: number) => f.db.transaction(async (tx) => [...(await lockCandidates(tx, [{ agent, slots }])).skipped]);
    expect(await skipped(6)).toEqual([]);
    await f.db.transaction(async (holder) => {
      await holder.execute(sql`select id from heartbeat_runs where id in (${order[0]}::uuid, ${order[1]}::uuid) for update`);
      expect(await candidates(2)).toEqual(order.slice(2, 4));
      expect(await skipped(2)).toEqual([]);
      expect(await skipped(6)).toEqual([agent.id]);
    });
  });
});

describe('§6.3 claimQueuedRun', () => {
  it('3: moves queued -> running with started_at, owner, a run token; the wakeup becomes claimed; the lock is stamped', async () => {
    const agent = await f.agent({ name: '  Builder ' });
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const run = await f.run({ agentId: agent.id, issueId: issue.id });
    const [claimed] = await claim(agent.id);
    expect(claimed.run).toMatchObject({ id: run.id, status: 'running', startedAt: f.clock.now(), ownerInstanceId: f.engine.deps.settings.instanceId });
    expect(claimed.runToken).toMatch(/^hbr_/);
    expect(claimed.run.runTokenHash).toBe(hashApiKey(claimed.runToken));
    const wake = await f.db.query.wakeupRequests.findFirst({ where: { id: run.wakeupRequestId! } });
    expect(wake).toMatchObject({ status: 'claimed', claimedAt: f.clock.now() });
    const locked = await f.db.query.issues.findFirst({ where: { id: issue.id } });
    expect(locked).toMatchObject({ executionRunId: run.id, executionAgentNameKey: 'builder', executionLockedAt: f.clock.now() });
    expect(f.published.filter((e) => e.type === 'heartbeat.run.status').map((e) => (e as { status: string }).status)).toEqual(['running']);
  });

  it('3: the claimed run is the row as stored after the claim', async () => {
    const agent = await f.agent({ heartbeat: { maxConcurrentRuns: 2 } });
    const runs = [await f.run({ agentId: agent.id, context: { taskKey: 'a', nested: { z: 1, a: [2] } } }), await f.run({ agentId: agent.id })];
    const claimed = await claim(agent.id);
    expect(claimed).toHaveLength(2);
    for (const { run } of claimed) expect(run).toEqual(await runRow(run.id));
    expect(claimed.map(({ run }) => run.id).sort()).toEqual(runs.map((run) => run.id).sort());
  });

  it('3: does not stamp a lock held by another run', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const other = await f.run({ agentId: agent.id, issueId: issue.id, status: 'running' });
    await f.db.update(issues).set({ executionRunId: other.id }).where(eq(issues.id, issue.id));
    await f.db.update(heartbeatRuns).set({ status: 'succeeded' }).where(eq(heartbeatRuns.id, other.id));
    await f.run({ agentId: agent.id, issueId: issue.id });
    await claim(agent.id);
    expect((await f.db.query.issues.findFirst({ where: { id: issue.id } }))!.executionRunId).toBe(other.id);
  });

  it('3: a run that is no longer queued is not claimed (guarded update)', async () => {
    const agent = await f.agent();
    const run = await f.run({ agentId: agent.id });
    await f.db.update(heartbeatRuns).set({ status: 'cancelled' }).where(eq(heartbeatRuns.id, run.id));
    expect(await claim(agent.id)).toEqual([]);
  });

  it('1: the canInvoke port refusing at claim time cancels the run with its reason', async () => {
    const agent = await f.agent();
    const run = await f.run({ agentId: agent.id });
    f.engine.deps.canInvoke = { check: async () => ({ allowed: false, reason: 'Budget paused this agent' }) };
    expect(await claim(agent.id)).toEqual([]);
    expect(await runRow(run.id)).toMatchObject({ status: 'cancelled', error: 'Budget paused this agent' });
  });

  async function expectGateCancel(runId: string, code: string, timeoutSource: string) {
    const row = await runRow(runId);
    expect(row).toMatchObject({ status: 'cancelled', errorCode: code, finishedAt: f.clock.now() });
    expect(row!.resultJson).toMatchObject({ stopReason: code, effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutFired: false, timeoutSource });
    expect((await f.db.query.wakeupRequests.findFirst({ where: { id: row!.wakeupRequestId! } }))!.status).toBe('skipped');
    const [event] = await f.db.query.runEvents.findMany({ where: { runId } });
    expect(event).toMatchObject({ level: 'warn', message: row!.error });
    expect(f.published.some((e) => e.type === 'heartbeat.run.status' && e.runId === runId && e.status === 'cancelled')).toBe(true);
    // Decisions 10: the gate cancel changes no agent status. (A run claimed beside it starts, and
    // turns its agent running: that is the only agent status published.)
    const claimedBeside = f.published.some((e) => e.type === 'heartbeat.run.status' && e.status === 'running');
    expect(f.published.filter((e) => e.type === 'agent.status' && !(claimedBeside && (e as { status: string }).status === 'running'))).toEqual([]);
    if (!claimedBeside) expect(f.published.some((e) => e.type === 'agent.status')).toBe(false);
  }

  it('2: unresolved blockers (not an interaction) -> issue_dependencies_blocked, lock cleared', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const blocker = await f.issue();
    await f.block(issue.id, blocker.id);
    const run = await f.run({ agentId: agent.id, issueId: issue.id });
    await f.db.update(issues).set({ executionRunId: run.id }).where(eq(issues.id, issue.id));
    expect(await claim(agent.id)).toEqual([]);
    await expectGateCancel(run.id, 'issue_dependencies_blocked', 'dependency_gate');
    expect((await runRow(run.id))!.error).toBe('Cancelled because issue dependencies are still blocked; the engine will wake the assignee when blockers resolve');
    expect((await f.db.query.issues.findFirst({ where: { id: issue.id } }))!.executionRunId).toBeNull();
  });

  it('2: unresolved blockers do not stop an interaction wake', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    await f.block(issue.id, (await f.issue()).id);
    await f.run({ agentId: agent.id, issueId: issue.id, context: { wakeReason: 'issue_commented', wakeCommentIds: ['c1'] } });
    expect(await claim(agent.id)).toHaveLength(1);
  });

  it('2: the issue is gone -> issue_not_found', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id });
    const run = await f.run({ agentId: agent.id, issueId: issue.id });
    await f.db.delete(issues).where(eq(issues.id, issue.id));
    await claim(agent.id);
    await expectGateCancel(run.id, 'issue_not_found', 'stale_queued_run_gate');
  });

  it('2: the issue was reassigned -> issue_assignee_changed (an interaction still runs)', async () => {
    const [agent, other] = [await f.agent({ heartbeat: { maxConcurrentRuns: 2 } }), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: other.id });
    const stale = await f.run({ agentId: agent.id, issueId: issue.id, createdAt: new Date('2025-01-01') });
    const interaction = await f.run({ agentId: agent.id, issueId: issue.id, context: { wakeReason: 'issue_comment_mentioned', commentId: 'c2' } });
    const claimed = await claim(agent.id);
    expect(claimed.map((c) => c.run.id)).toEqual([interaction.id]);
    await expectGateCancel(stale.id, 'issue_assignee_changed', 'stale_queued_run_gate');
  });

  it.each(['done', 'cancelled'] as const)('2: the issue is %s -> issue_terminal_status, unless a comment, resumeIntent or followUpRequested', async (status) => {
    const agent = await f.agent({ heartbeat: { maxConcurrentRuns: 5 } });
    const issue = await f.issue({ assigneeAgentId: agent.id, status });
    const stale = await f.run({ agentId: agent.id, issueId: issue.id, createdAt: new Date('2025-01-01') });
    const allowed = [
      await f.run({ agentId: agent.id, issueId: issue.id, context: { wakeCommentId: 'c3' } }),
      await f.run({ agentId: agent.id, issueId: issue.id, context: { resumeIntent: true } }),
      await f.run({ agentId: agent.id, issueId: issue.id, context: { followUpRequested: true } }),
    ];
    const claimed = await claim(agent.id);
    expect(claimed.map((c) => c.run.id).sort()).toEqual(allowed.map((r) => r.id).sort());
    await expectGateCancel(stale.id, 'issue_terminal_status', 'stale_queued_run_gate');
  });

  it('2: in review with another current participant -> issue_review_participant_changed', async () => {
    const [agent, reviewer] = [await f.agent({ heartbeat: { maxConcurrentRuns: 3 } }), await f.agent()];
    const issue = await f.issue({ assigneeAgentId: agent.id, status: 'in_review', executionState: { currentParticipant: reviewer.id } });
    const stale = await f.run({ agentId: agent.id, issueId: issue.id });
    await claim(agent.id);
    await expectGateCancel(stale.id, 'issue_review_participant_changed', 'stale_queued_run_gate');
    await f.db.update(issues).set({ executionState: { currentParticipant: agent.id } }).where(eq(issues.id, issue.id));
    await f.run({ agentId: agent.id, issueId: issue.id });
    expect(await claim(agent.id)).toHaveLength(1);
  });
});
