// §6.11-K: a run finished by an instance that died before writing its follow-up (between the finish's
// commit and the follow-up's) is taken over by another instance's reaper pass, which completes the
// follow-up once: the summary comment, the comment policy, the release and promotion, the
// continuation summary, the bounded retry, the liveness continuation, the settle. The runs are
// claimed and finished by the engine's own functions; the "death" is the run then belonging to an
// instance whose lease has ended, as the lease rules leave it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineInstances, heartbeatRuns } from '../../../db/schema.ts';
import type { AdapterResult } from '../../../engine/adapters/types.ts';
import { registerInstance } from '../../../engine/cluster/instances.ts';
import { Engine } from '../../../engine/engine.ts';
import { completeTakenOverFollowUp, followUpSteps, writeFollowUps } from '../../../engine/execution/follow-up.ts';
import type { LiveEvent } from '../../../engine/live/live-events.ts';
import type { EngineDeps } from '../../../engine/model/deps.ts';
import type { RunRow } from '../../../engine/model/runs.ts';
import { scheduleBoundedRetry } from '../../../engine/recovery/bounded-retry.ts';
import { findAbandonedFollowUps } from '../../../engine/recovery/process-loss.ts';
import { claimNextRunsForAgent } from '../../../engine/runs/claim.ts';
import { finishRuns } from '../../../engine/runs/finish.ts';
import { takeOverFollowUps } from '../../../engine/runs/follow-up-owner.ts';
import { failLostRuns } from '../../../engine/runs/lost-runs.ts';
import { type EngineFixture, engineFixture, type FixtureAgent as Agent, type FixtureIssue as Issue } from '../../support/engine.ts';
import { recoveryRows } from '../../support/recovery-rows.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

const { runRow, issueRow, runsOn, summariesBy, deadInstance, liveInstance } = recoveryRows(() => f);
const commentsBy = (runId: string) => f.db.query.issueComments.findMany({ where: { createdByRunId: runId } });
const settledEvents = (published: LiveEvent[], runId: string) =>
  published.filter((e) => e.type === 'heartbeat.run.status' && e.runId === runId && e.state.settledAt !== null);

/** One reaper pass of `engine`: how many finished runs it took over from a dead owner and followed up (its counter for /metrics). */
async function pass(engine: Engine = f.engine): Promise<number> {
  const before = engine.counters.followUpsTakenOver;
  await engine.reapOrphanedRuns();
  return engine.counters.followUpsTakenOver - before;
}

/** The engine's functions as another instance would call them (its own id). */
const as = (instanceId: string): EngineDeps => ({ ...f.engine.deps, settings: { ...f.engine.deps.settings, instanceId } });

/**
 * A run of `agent` on `issue`, queued and claimed by the engine, then handed to `owner`, as if that
 * instance had claimed it. Woken for an assignment by default, which asks for a comment (§6.10).
 */
async function running(agent: Agent, issue: Issue | null, owner: string, reason = 'issue_assigned'): Promise<RunRow> {
  await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason, payload: issue ? { issueId: issue.id } : {} });
  const [claimed] = await claimNextRunsForAgent(f.engine.deps, agent.id);
  expect(claimed.run.status).toBe('running');
  const [owned] = await f.db.update(heartbeatRuns).set({ ownerInstanceId: owner }).where(eq(heartbeatRuns.id, claimed.run.id)).returning();
  return owned;
}

/** The finish its executor writes (§6.4 steps 6-7): the run is terminal, and not settled when something follows it. */
async function finish(run: RunRow, result: AdapterResult): Promise<RunRow> {
  const [answer] = await finishRuns(f.engine.deps, [{ runId: run.id, agent: { id: run.agentId, adapterType: 'script', adapterConfig: {} }, result, output: null, crashed: false, events: [] }], {
    wait: true,
  });
  if (answer.kind !== 'finished') throw new Error(`not finished: ${answer.kind}`);
  expect(answer.followUp).toBe(true);
  expect(answer.run.settledAt).toBeNull();
  return answer.run;
}

describe('§6.11-K a finished run whose owner died before its follow-up', () => {
  it('is followed up once by another instance: summary comment, comment policy, release and promotion, continuation summary, settle', async () => {
    const agent = await f.agent({ name: 'Coder' });
    const issue = await f.issue({ status: 'todo', assigneeAgentId: agent.id });
    const dead = await deadInstance();
    const run = await running(agent, issue, dead);
    expect((await issueRow(issue.id)).executionRunId).toBe(run.id);
    // A wake that brings something new while the run executes waits behind it (§6.1 step 6).
    const waiting = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'issue_commented', payload: { issueId: issue.id, more: 1 } });
    expect(waiting.outcome).toBe('deferred');
    const finished = await finish(run, { exitCode: 0, summary: 'Fixed the widget' });
    expect(finished.status).toBe('succeeded');

    // Nothing else comes for it: its owner is dead. Another instance's reaper pass follows it up.
    expect(await pass()).toBe(1);
    const after = await runRow(run.id);
    expect(after).toMatchObject({ status: 'succeeded', settledAt: expect.any(Date), issueCommentStatus: 'satisfied', ownerInstanceId: f.engine.instanceId });
    const comments = await commentsBy(run.id);
    expect(comments.map((c) => c.body)).toEqual(['Fixed the widget']);
    expect(after.issueCommentSatisfiedByCommentId).toBe(comments[0].id);
    expect(await summariesBy(run.id)).toHaveLength(1);
    // The issue is released and the waiting wake promoted to a queued run, which holds the issue now.
    const promoted = (await runsOn(issue.id)).filter((r) => r.id !== run.id);
    expect(promoted).toMatchObject([{ status: 'queued', agentId: agent.id, wakeupRequestId: waiting.wakeupRequest.id }]);
    expect((await issueRow(issue.id)).executionRunId).toBe(promoted[0].id);
    // runStatus(runId) subscribers hear of the settle (and complete on it).
    expect(settledEvents(f.published, run.id)).toHaveLength(1);
    expect(f.published.some((e) => e.type === 'issue.lock' && e.issueId === issue.id && e.executionRunId === null)).toBe(true);

    // Once: a later pass finds nothing, and nothing changes.
    expect(await pass()).toBe(0);
    expect(await runRow(run.id)).toEqual(after);
    expect(await commentsBy(run.id)).toHaveLength(1);
    expect(await runsOn(issue.id)).toHaveLength(2);
    expect(settledEvents(f.published, run.id)).toHaveLength(1);
  });

  it('is left alone while its owner lives (another instance with a live lease, or this one within its grace), and taken once the owner is dead', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const elsewhere = await liveInstance();
    const theirs = await finish(await running(agent, issue, elsewhere), { exitCode: 0, summary: 'Done there' });
    const other = await f.agent();
    const ownIssue = await f.issue({ status: 'in_progress', assigneeAgentId: other.id });
    const mine = await finish(await running(other, ownIssue, f.engine.instanceId), { exitCode: 0, summary: 'Done here' });

    // Its owner may be writing the follow-up right now: neither run is touched.
    expect(await pass()).toBe(0);
    for (const [run, issueId] of [[theirs, issue.id], [mine, ownIssue.id]] as const) {
      expect(await runRow(run.id)).toMatchObject({ settledAt: null, ownerInstanceId: run.ownerInstanceId });
      expect((await issueRow(issueId)).executionRunId).toBe(run.id);
      expect(await commentsBy(run.id)).toEqual([]);
    }

    // The other instance's lease ends (it stopped, or was declared dead): its run is taken over.
    await f.db.update(engineInstances).set({ stoppedAt: f.clock.now() }).where(eq(engineInstances.id, elsewhere));
    expect(await pass()).toBe(1);
    expect(await runRow(theirs.id)).toMatchObject({ settledAt: expect.any(Date), ownerInstanceId: f.engine.instanceId });
    expect((await issueRow(issue.id)).executionRunId).toBeNull();
    expect(await runRow(mine.id)).toMatchObject({ settledAt: null });

    // This instance's own run, which no executor of it holds (it gave up on it), once 10 s passed.
    f.clock.advance(10_001);
    expect(await pass()).toBe(1);
    expect(await runRow(mine.id)).toMatchObject({ settledAt: expect.any(Date) });
    expect((await issueRow(ownIssue.id)).executionRunId).toBeNull();
    expect((await commentsBy(mine.id)).map((c) => c.body)).toEqual(['Done here']);
  });

  it('is followed up once when passes on two instances run at the same time', async () => {
    const second = await secondEngine();
    try {
      const dead = await deadInstance();
      const items: Array<{ run: RunRow; issue: Issue; waiting: string }> = [];
      for (let i = 0; i < 6; i++) {
        const agent = await f.agent();
        const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
        const run = await running(agent, issue, dead);
        const waiting = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id, more: i } });
        expect(waiting.outcome).toBe('deferred');
        items.push({ run: await finish(run, { exitCode: 0, summary: `Run ${i}` }), issue, waiting: waiting.wakeupRequest.id });
      }

      const [a, b] = await Promise.all([pass(f.engine), pass(second.engine)]);
      expect(a + b).toBe(items.length);
      for (const { run, issue, waiting } of items) {
        const after = await runRow(run.id);
        expect(after.settledAt).not.toBeNull();
        expect([f.engine.instanceId, second.engine.instanceId]).toContain(after.ownerInstanceId);
        // One summary comment, one promotion, one continuation summary, one settle.
        const promoted = (await runsOn(issue.id)).filter((r) => r.id !== run.id);
        expect(promoted).toMatchObject([{ status: 'queued', wakeupRequestId: waiting }]);
        expect(await summariesBy(run.id)).toHaveLength(1);
        expect(await commentsBy(run.id)).toHaveLength(1);
        expect([...settledEvents(f.published, run.id), ...settledEvents(second.published, run.id)]).toHaveLength(1);
      }
    } finally {
      await second.close();
    }
  });

  it('is taken over by one of two instances that both found it, and followed up by that one', async () => {
    const second = await secondEngine();
    try {
      const dead = await deadInstance();
      const runs: RunRow[] = [];
      for (let i = 0; i < 6; i++) {
        const agent = await f.agent();
        const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
        runs.push(await finish(await running(agent, issue, dead), { exitCode: 0, summary: `Run ${i}` }));
      }
      // Both passes read the runs before either takes any over.
      const found = await Promise.all([f.engine, second.engine].map((engine) => findAbandonedFollowUps(engine.deps, new Set())));
      for (const candidates of found) expect(candidates.map(({ run }) => run.id).sort()).toEqual(runs.map((run) => run.id).sort());
      const taken = await Promise.all(
        [f.engine, second.engine].map((engine, i) => takeOverFollowUps(engine.deps, found[i].map(({ run }) => run))),
      );
      const [ids1, ids2] = taken.map((list) => list.map(({ run }) => run.id));
      expect(ids1.filter((id) => ids2.includes(id))).toEqual([]);
      expect([...ids1, ...ids2].sort()).toEqual(runs.map((run) => run.id).sort());
      // Each follows up what it took, at the same time as the other.
      await Promise.all(
        [f.engine, second.engine].map((engine, i) =>
          Promise.all(taken[i].map((item) => completeTakenOverFollowUp(engine.deps, followUpSteps(engine.deps, (input) => engine.enqueueWakeup(input)), item))),
        ),
      );
      for (const run of runs) {
        expect(await runRow(run.id)).toMatchObject({ settledAt: expect.any(Date), ownerInstanceId: ids1.includes(run.id) ? f.engine.instanceId : second.engine.instanceId });
        expect(await commentsBy(run.id)).toHaveLength(1);
        expect(await summariesBy(run.id)).toHaveLength(1);
        expect([...settledEvents(f.published, run.id), ...settledEvents(second.published, run.id)]).toHaveLength(1);
      }
      // Neither finds anything more.
      expect(await Promise.all([pass(f.engine), pass(second.engine)])).toEqual([0, 0]);
    } finally {
      await second.close();
    }
  });

  it('gets its liveness continuation from the stored run; after a follow-up its owner wrote, only the continuation and the settle', async () => {
    const agent = await f.agent({ name: 'Planner' });
    const dead = await deadInstance();
    // A succeeded run that said nothing: `empty_response`, which a continuation follows (§6.8).
    // (Woken for work that asks for no comment: a comment retry would hold the issue otherwise.)
    const quiet = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const first = await finish(await running(agent, quiet, dead, 'work'), { exitCode: 0 });
    expect(first.livenessState).toBe('empty_response');
    // The same, on an issue where two other agents' wakes wait; its owner wrote the follow-up (the
    // release promoted one of them, which does not take the lock: its agent is not the assignee)
    // and died before the continuation and the settle.
    const busy = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const run = await running(agent, busy, dead, 'work');
    const [b, c] = [await f.agent(), await f.agent()];
    const wakeB = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: b.id, payload: { issueId: busy.id } });
    f.clock.advance(1);
    const wakeC = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: c.id, payload: { issueId: busy.id } });
    expect([wakeB.outcome, wakeC.outcome]).toEqual(['deferred', 'deferred']);
    const second = await finish(run, { exitCode: 0 });
    const [written] = await writeFollowUps(as(dead), [{ run: second, crashed: false }]);
    expect(written).toMatchObject({ settled: false, queued: [{ agentId: b.id }] });
    expect((await issueRow(busy.id)).executionRunId).toBeNull();

    expect(await pass()).toBe(2);
    for (const [source, issue] of [[first, quiet], [second, busy]] as const) {
      expect(await runRow(source.id)).toMatchObject({ settledAt: expect.any(Date) });
      const key = `run_liveness_continuation:${issue.id}:${source.id}:empty_response:1`;
      expect(await f.db.query.wakeupRequests.findMany({ where: { idempotencyKey: key } })).toHaveLength(1);
      expect(await summariesBy(source.id)).toHaveLength(1);
    }
    const continuation = (await runsOn(quiet.id)).find((r) => r.id !== first.id);
    expect(continuation).toMatchObject({ status: 'queued', agentId: agent.id, continuationAttempt: 1 });
    // The follow-up its owner wrote is not written again: C's wake is still waiting.
    expect(await f.db.query.wakeupRequests.findFirst({ where: { id: wakeC.wakeupRequest.id } })).toMatchObject({ status: 'deferred_issue_execution' });
    expect((await runsOn(busy.id)).filter((r) => r.agentId === b.id)).toHaveLength(1);
    expect((await runsOn(busy.id)).filter((r) => r.agentId === c.id)).toHaveLength(0);
  });

  it('gets its bounded retry once: scheduled when its owner had not, not again when it had', async () => {
    const agent = await f.agent();
    const dead = await deadInstance();
    const transient: AdapterResult = { exitCode: 1, errorMessage: 'upstream overloaded', errorFamily: 'transient_upstream' };
    // Runs without an issue: only their transient failure makes them wait for a follow-up (§6.4 step 7).
    const unscheduled = await finish(await running(agent, null, dead), transient);
    const scheduled = await finish(await running(agent, null, dead), transient);
    expect(await scheduleBoundedRetry(as(dead), scheduled.id, { followUpOf: dead, random: 0.5 })).toMatchObject({ outcome: 'scheduled' });

    expect(await pass()).toBe(2);
    for (const source of [unscheduled, scheduled]) {
      expect(await runRow(source.id)).toMatchObject({ settledAt: expect.any(Date), issueCommentStatus: 'not_applicable' });
      const retries = await f.db.query.heartbeatRuns.findMany({ where: { retryOfRunId: source.id } });
      expect(retries).toMatchObject([{ status: 'scheduled_retry', scheduledRetryAttempt: 1, scheduledRetryReason: 'transient_failure' }]);
    }
  });

  it('is written by the instance that took it over only: its former owner, back after being declared dead, writes nothing', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const dead = await deadInstance();
    const run = await running(agent, issue, dead);
    const waiting = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id, more: 1 } });
    const failed = await finish(run, { exitCode: 1, errorMessage: 'flaky', errorFamily: 'transient_upstream' });

    // This instance takes it over (the pass's first step), and has not written it yet.
    const [taken] = await takeOverFollowUps(f.engine.deps, [failed]);
    expect(taken).toMatchObject({ run: { id: run.id, ownerInstanceId: f.engine.instanceId }, followUpWritten: false, boundedRetryDone: false });
    // The former owner's late follow-up steps write nothing.
    expect(await scheduleBoundedRetry(as(dead), run.id, { followUpOf: dead })).toEqual({ outcome: 'not_owner' });
    expect(await writeFollowUps(as(dead), [{ run: failed, crashed: false }])).toEqual([{ queued: [], settled: true }]);
    expect(await runRow(run.id)).toMatchObject({ settledAt: null });
    expect((await issueRow(issue.id)).executionRunId).toBe(run.id);
    expect(await summariesBy(run.id)).toEqual([]);

    // It is this instance's own run now, without an executor: a later pass completes it.
    f.clock.advance(10_001);
    expect(await pass()).toBe(1);
    expect(await runRow(run.id)).toMatchObject({ settledAt: expect.any(Date) });
    expect(await f.db.query.heartbeatRuns.findMany({ where: { retryOfRunId: run.id } })).toMatchObject([{ status: 'scheduled_retry' }]);
    // The retry took the issue over from the run (§6.12 step 3); the wake behind it waits for the retry.
    expect(await f.db.query.wakeupRequests.findFirst({ where: { id: waiting.wakeupRequest.id } })).toMatchObject({ status: 'deferred_issue_execution' });
    expect(await summariesBy(run.id)).toHaveLength(1);
  });

  it('a lost run whose reaper died before releasing its issue is released and settled by another instance', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });
    const owner = await deadInstance();
    const run = await running(agent, issue, owner);
    await f.db.update(heartbeatRuns).set({ processLossRetryCount: 1 }).where(eq(heartbeatRuns.id, run.id));
    const waiting = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, payload: { issueId: issue.id, more: 1 } });

    // Another instance's reaper fails it (no retry left: its issue is still to be released), and dies.
    const reaper = await liveInstance();
    const [failed] = await failLostRuns(as(reaper), [
      { candidate: { run: await runRow(run.id), agentName: agent.name }, lost: { message: 'Process lost -- server may have restarted', retry: false, pid: null, pgid: null, descendantOnlyCleanup: false } },
    ]);
    expect(failed).toMatchObject({ failed: { status: 'failed', errorCode: 'process_lost', settledAt: null, ownerInstanceId: reaper }, retry: null });
    // While that reaper lives, the release is its own.
    expect(await pass()).toBe(0);
    expect(await runRow(run.id)).toMatchObject({ settledAt: null });
    await f.db.update(engineInstances).set({ stoppedAt: f.clock.now() }).where(eq(engineInstances.id, reaper));

    expect(await pass()).toBe(1);
    expect(await runRow(run.id)).toMatchObject({ status: 'failed', settledAt: expect.any(Date) });
    // The reaper's follow-up (§6.11-A): the release, with its promotion; no comment policy of a finish.
    const promoted = (await runsOn(issue.id)).filter((r) => r.id !== run.id);
    expect(promoted).toMatchObject([{ status: 'queued', wakeupRequestId: waiting.wakeupRequest.id }]);
    expect((await issueRow(issue.id)).executionRunId).toBe(promoted[0].id);
    expect(await summariesBy(run.id)).toHaveLength(1);
  });
});

/** A second engine instance over the same database (another host name, so neither takes the other for dead). */
async function secondEngine() {
  const logDir = await mkdtemp(join(tmpdir(), 'heartbeat-engine-logs-'));
  const engine = new Engine({
    db: f.db,
    sql: f.database.sql,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    logDir,
    clock: f.clock,
    tickIntervalMs: 0,
    hostName: 'instance-b',
  });
  await engine.ready();
  const instance = await registerInstance(f.db, f.clock, { host: 'instance-b' });
  Object.assign(engine.deps.settings, { instanceId: instance.id, host: instance.host, apiUrl: 'http://127.0.0.1:9/graphql' });
  const published: LiveEvent[] = [];
  engine.deps.bus.subscribe((event) => published.push(event));
  return {
    engine,
    published,
    close: async () => {
      await engine.stop();
      await rm(logDir, { recursive: true, force: true });
    },
  };
}
