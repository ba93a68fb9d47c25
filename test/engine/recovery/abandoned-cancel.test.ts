// §6.13 and §6.11-H: a cancel is written in one transaction and the release of a lock that names the
// run in another. A canceller that dies in between leaves the issue's lock naming the cancelled run,
// and the wakeups deferred behind it waiting for a release. Whoever settles the run (the reaper when its executor is
// gone, else the executor once its process stopped) makes that release first, through the cancel's
// own release, and only while the lock still names the run: a release the canceller made is not
// made again, and one made by the settle is not made again by a canceller that comes after it.
// A lock that did not name the run is released in the cancel's own transaction: nothing after it
// could tell that release was owed. The canceller's "death" is its cancel's transaction alone
// (execution/cancellation.ts cancelRun); the executor's is the run belonging to an instance whose
// lease has ended, as the lease rules leave it.
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../../db/schema.ts';
import type { RunRow } from '../../../engine/model/runs.ts';
import { releaseIssueExecutionAndPromote } from '../../../engine/recovery/issue-release.ts';
import { cancelRun } from '../../../engine/execution/cancellation.ts';
import { claimNextRunsForAgent } from '../../../engine/runs/claim.ts';
import { finishRuns } from '../../../engine/runs/finish.ts';
import { type EngineFixture, engineFixture, type FixtureAgent as Agent, type FixtureIssue as Issue } from '../../support/engine.ts';
import { recoveryRows } from '../../support/recovery-rows.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const { runRow, issueRow, wakeRow, runsOn, summariesBy, deadInstance } = recoveryRows(() => f);

/** A run of `agent` on `issue`, queued and claimed by the engine (taking the issue's lock), then handed to `owner`. */
async function running(agent: Agent, issue: Issue, owner: string): Promise<RunRow> {
  await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'issue_assigned', payload: { issueId: issue.id } });
  const [claimed] = await claimNextRunsForAgent(f.engine.deps, agent.id);
  expect(claimed.run.status).toBe('running');
  const [owned] = await f.db.update(heartbeatRuns).set({ ownerInstanceId: owner }).where(eq(heartbeatRuns.id, claimed.run.id)).returning();
  expect((await issueRow(issue.id)).executionRunId).toBe(owned.id);
  return owned;
}

/** A wake of `agent` on the issue, deferred behind the run that holds it (§6.1 step 3e). */
async function deferred(agent: Agent, issue: Issue, payload: Record<string, unknown> = {}): Promise<string> {
  const result = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'issue_commented', payload: { issueId: issue.id, ...payload } });
  expect(result.outcome).toBe('deferred');
  f.clock.advance(1); // the next one is younger
  return result.wakeupRequest.id;
}

/** The runs the issue's deferred wakeups became. */
const promotedOn = async (issueId: string, ...wakeIds: string[]) => (await runsOn(issueId)).filter((run) => wakeIds.includes(run.wakeupRequestId!));

describe('§6.11-H a cancelled run whose canceller died before releasing its issue', () => {
  it('is released by the reaper that settles it: the deferred wakeup is promoted once', async () => {
    const agent = await f.agent({ name: 'Coder' });
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const run = await running(agent, issue, await deadInstance());
    const waiting = await deferred(agent, issue, { more: 1 });

    // The canceller commits the cancel and dies: no release, no settle, no agent status.
    const cancel = await cancelRun(f.engine.deps, run.id);
    expect((await f.db.query.agents.findFirst({ where: { id: agent.id } }))!.status).toBe('running');
    expect(cancel).toMatchObject({ run: { status: 'cancelled' }, heldIssueLock: true });
    expect(await runRow(run.id)).toMatchObject({ status: 'cancelled', settledAt: null });
    expect((await issueRow(issue.id)).executionRunId).toBe(run.id);
    // Nothing else would get the wake going: the stranded-issue pass leaves an issue with a deferred wake alone.
    expect((await f.engine.reconcileStrandedIssues()).issueIds).toEqual([]);
    expect(await wakeRow(waiting)).toMatchObject({ status: 'deferred_issue_execution' });

    // Its executor is gone too: a reaper pass settles it, releasing the issue first.
    await f.engine.reapOrphanedRuns();
    const after = await runRow(run.id);
    expect(after).toMatchObject({ status: 'cancelled', settledAt: expect.any(Date) });
    // The agent no longer shows a run it does not have (its promoted run is only queued).
    expect((await f.db.query.agents.findFirst({ where: { id: agent.id } }))!.status).toBe('idle');
    const promoted = await promotedOn(issue.id, waiting);
    expect(promoted).toMatchObject([{ status: 'queued', agentId: agent.id }]);
    expect(await wakeRow(waiting)).toMatchObject({ status: 'queued', reason: 'issue_execution_promoted', runId: promoted[0].id });
    // The promoted run's agent is the assignee: it holds the issue now.
    expect((await issueRow(issue.id)).executionRunId).toBe(promoted[0].id);
    // The continuation summary the cancel's release leaves (§16), once.
    expect(await summariesBy(run.id)).toHaveLength(1);
    expect(f.published.some((e) => e.type === 'heartbeat.run.queued' && e.runId === promoted[0].id)).toBe(true);

    // Once: a later pass finds nothing.
    await f.engine.reapOrphanedRuns();
    expect(await runRow(run.id)).toEqual(after);
    expect(await runsOn(issue.id)).toHaveLength(2);
  });

  it('a queued run holding the lock, cancelled by a canceller that died, is released by the reaper too', async () => {
    const [assignee, other] = [await f.agent(), await f.agent()];
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: assignee.id });
    const first = await running(assignee, issue, await deadInstance());
    const [a, b] = [await deferred(assignee, issue, { more: 1 }), await deferred(other, issue)];
    // The first run ends and its release promotes the oldest wake into a queued run that takes the lock.
    await f.db.update(heartbeatRuns).set({ status: 'succeeded', settledAt: f.clock.now() }).where(eq(heartbeatRuns.id, first.id));
    const { promoted: queued } = await releaseIssueExecutionAndPromote(f.engine.deps, { ...first, status: 'succeeded' });
    expect(queued).toMatchObject({ status: 'queued', wakeupRequestId: a });
    expect((await issueRow(issue.id)).executionRunId).toBe(queued!.id);

    // Cancelled, and the canceller dies before the release and the settle.
    expect(await cancelRun(f.engine.deps, queued!.id)).toMatchObject({ heldIssueLock: true });
    await f.engine.reapOrphanedRuns();
    expect(await runRow(queued!.id)).toMatchObject({ status: 'cancelled', settledAt: expect.any(Date) });
    expect(await promotedOn(issue.id, b)).toMatchObject([{ status: 'queued', agentId: other.id }]);
    expect(await wakeRow(b)).toMatchObject({ status: 'queued' });
  });

  it('a run its adapter ended cancelled, whose owner died before its follow-up, is released by the reaper that settles it', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const run = await running(agent, issue, await deadInstance());
    const waiting = await deferred(agent, issue, { more: 1 });
    const [answer] = await finishRuns(
      f.engine.deps,
      [{ runId: run.id, agent: { id: agent.id, adapterType: 'script', adapterConfig: {} }, result: { exitCode: null, errorCode: 'cancelled', errorMessage: 'Stopped' }, output: null, crashed: false, events: [] }],
      { wait: true },
    );
    expect(answer).toMatchObject({ kind: 'finished', followUp: true, run: { status: 'cancelled', settledAt: null } });

    await f.engine.reapOrphanedRuns();
    expect(await runRow(run.id)).toMatchObject({ status: 'cancelled', settledAt: expect.any(Date) });
    const promoted = await promotedOn(issue.id, waiting);
    expect(promoted).toMatchObject([{ status: 'queued', agentId: agent.id }]);
    expect((await issueRow(issue.id)).executionRunId).toBe(promoted[0].id);
  });
});

/**
 * A running run of the assignee whose executor is gone, with two other agents' wakes deferred
 * behind it: the release promotes the older one, whose run does not take the lock (its agent is
 * not the assignee), so the lock is free after it and a second release would promote the other.
 */
async function setUp() {
  const [assignee, b, c] = [await f.agent({ name: 'Assignee' }), await f.agent(), await f.agent()];
  const issue = await f.issue({ status: 'in_progress', assigneeAgentId: assignee.id });
  const run = await running(assignee, issue, await deadInstance());
  const [wakeB, wakeC] = [await deferred(b, issue), await deferred(c, issue)];
  return { issue, run, wakeB, wakeC, b, c };
}

describe('§6.13 the release of a cancel is made once, whoever makes it', () => {

  it('the canceller released the issue, then the reaper settles the run: nothing more is promoted', async () => {
    const { issue, run, wakeB, wakeC, b } = await setUp();
    // The whole cancel: the release promoted B's wake; the run waits for its executor to settle it.
    await f.engine.cancelRun({ companyId: f.companyId, runId: run.id });
    expect(await promotedOn(issue.id, wakeB, wakeC)).toMatchObject([{ status: 'queued', agentId: b.id, wakeupRequestId: wakeB }]);
    expect((await issueRow(issue.id)).executionRunId).toBeNull();
    expect(await runRow(run.id)).toMatchObject({ status: 'cancelled', settledAt: null });

    // Its executor is gone: the reaper settles it, and finds nothing left to release.
    await f.engine.reapOrphanedRuns();
    expect(await runRow(run.id)).toMatchObject({ settledAt: expect.any(Date) });
    expect(await promotedOn(issue.id, wakeB, wakeC)).toHaveLength(1);
    expect(await wakeRow(wakeC)).toMatchObject({ status: 'deferred_issue_execution', runId: null });
    expect((await issueRow(issue.id)).executionRunId).toBeNull();
    expect(await summariesBy(run.id)).toHaveLength(1);
  });

  it('the reaper settled (and released) the run first, then the canceller gets to its release: nothing more is promoted', async () => {
    const { issue, run, wakeB, wakeC, b } = await setUp();
    const cancel = await cancelRun(f.engine.deps, run.id);
    expect(cancel.heldIssueLock).toBe(true);
    // A reaper pass comes between the canceller's cancel and its release.
    await f.engine.reapOrphanedRuns();
    expect(await runRow(run.id)).toMatchObject({ settledAt: expect.any(Date) });
    expect(await promotedOn(issue.id, wakeB, wakeC)).toMatchObject([{ agentId: b.id, wakeupRequestId: wakeB }]);

    // The canceller's release, as Engine.cancel makes it.
    const { promoted } = await releaseIssueExecutionAndPromote(f.engine.deps, cancel.previous!, { endedAs: cancel.run, heldOnly: cancel.heldIssueLock });
    expect(promoted).toBeNull();
    expect(await promotedOn(issue.id, wakeB, wakeC)).toHaveLength(1);
    expect(await wakeRow(wakeC)).toMatchObject({ status: 'deferred_issue_execution' });
  });
});

describe('§6.13 a cancelled run whose issue\'s lock did not name it', () => {
  /**
   * The assignee's run is cancelled: its release promotes B's wake into a queued run that does not
   * take the lock (B is not the assignee), so the lock is free and C's wake is still deferred.
   */
  async function promotedWithoutTheLock() {
    const { issue, run, wakeB, wakeC, b, c } = await setUp();
    await f.engine.cancelRun({ companyId: f.companyId, runId: run.id });
    const [promotedB] = await promotedOn(issue.id, wakeB);
    expect(promotedB).toMatchObject({ status: 'queued', agentId: b.id });
    expect((await issueRow(issue.id)).executionRunId).toBeNull();
    expect(await wakeRow(wakeC)).toMatchObject({ status: 'deferred_issue_execution' });
    return { issue, promotedB, wakeB, wakeC, c };
  }

  it('has the free lock released with its cancel: a canceller that dies after the commit leaves no wake deferred for good', async () => {
    const { issue, promotedB, wakeB, wakeC, c } = await promotedWithoutTheLock();
    // The canceller commits the cancel of B's run and dies: nothing of its own after the commit.
    const cancel = await cancelRun(f.engine.deps, promotedB.id);
    expect(cancel).toMatchObject({ run: { status: 'cancelled' }, heldIssueLock: false, promoted: { status: 'queued', agentId: c.id, wakeupRequestId: wakeC } });
    expect(await promotedOn(issue.id, wakeC)).toMatchObject([{ status: 'queued', agentId: c.id }]);
    expect(await wakeRow(wakeC)).toMatchObject({ status: 'queued', reason: 'issue_execution_promoted', runId: cancel.promoted!.id });
    expect(f.published.some((e) => e.type === 'heartbeat.run.queued' && e.runId === cancel.promoted!.id)).toBe(true);

    // The cancelled run has no owner: the reaper settles it, and promotes nothing more.
    await f.engine.reapOrphanedRuns();
    expect(await runRow(promotedB.id)).toMatchObject({ status: 'cancelled', settledAt: expect.any(Date) });
    expect(await promotedOn(issue.id, wakeB, wakeC)).toHaveLength(2);
    expect(await runsOn(issue.id)).toHaveLength(3);
  });

  it('the whole cancel promotes the next deferred wake once', async () => {
    const { issue, promotedB, wakeC, c } = await promotedWithoutTheLock();
    await f.engine.cancelRun({ companyId: f.companyId, runId: promotedB.id });
    expect(await runRow(promotedB.id)).toMatchObject({ status: 'cancelled', settledAt: expect.any(Date) });
    expect(await promotedOn(issue.id, wakeC)).toMatchObject([{ agentId: c.id }]);
    expect(await runsOn(issue.id)).toHaveLength(3);
    expect(await summariesBy(promotedB.id)).toHaveLength(0);
  });
});

describe('§6.13 the executor of a cancelled run whose canceller died before releasing its issue', () => {
  it('releases the issue before settling the run, and starts the promoted run', async () => {
    await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
    const sleeper = await f.agent({ name: 'Sleeper', adapterConfig: { steps: [{ sleepMs: 600_000 }] } });
    const other = await f.agent({ name: 'Other', adapterConfig: { steps: [] } });
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: sleeper.id });
    const queued = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: sleeper.id, reason: 'issue_assigned', payload: { issueId: issue.id } });
    const runId = queued.run!.id;
    await waitFor('the run to execute here', async () => f.engine.activeRunIds().includes(runId) && (await runRow(runId)).status === 'running');
    expect((await issueRow(issue.id)).executionRunId).toBe(runId);
    const waiting = await deferred(other, issue);

    // The canceller commits the cancel (its NOTIFY stops the executor here) and dies before its release.
    expect(await cancelRun(f.engine.deps, runId)).toMatchObject({ heldIssueLock: true });
    const settled = await waitFor('the run to be settled', async () => {
      const row = await runRow(runId);
      return row.settledAt ? row : null;
    });
    expect(settled.status).toBe('cancelled');
    // Released (the lock no longer names it) and the deferred wake promoted, once, into a run the
    // executor handed back to be claimed.
    expect((await issueRow(issue.id)).executionRunId).not.toBe(runId);
    const promoted = await promotedOn(issue.id, waiting);
    expect(promoted).toMatchObject([{ agentId: other.id }]);
    expect(await wakeRow(waiting)).toMatchObject({ reason: 'issue_execution_promoted', runId: promoted[0].id });
    await waitFor('the promoted run to be claimed', async () => (await runRow(promoted[0].id)).status !== 'queued');
    expect(await summariesBy(runId)).toHaveLength(1);
  });
});
