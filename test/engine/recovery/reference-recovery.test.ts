// The 14 "Reference recovery tests" of engine-spec §10 (heartbeat process recovery), ported with
// their reference titles. Real PostgreSQL, real child processes; the engine is not started unless a
// scenario needs runs to execute (11, 12), so every step is driven by the test.
import { type ChildProcess, spawn } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agents, heartbeatRuns, issues, wakeupRequests } from '../../../db/schema.ts';
import { groupAlive } from '../../../engine/adapters/process-groups.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
/** Process groups (by pgid) and single pids started by a test; all are SIGKILLed afterwards. */
const groups = new Set<number>();
const pids = new Set<number>();
const children = new Set<ChildProcess>();

beforeEach(async () => {
  f = await engineFixture();
});
afterEach(async () => {
  for (const pgid of groups) signal(-pgid);
  for (const pid of pids) signal(pid);
  for (const child of children) child.kill('SIGKILL');
  groups.clear();
  pids.clear();
  children.clear();
  await f.close();
});

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Long before the fixture clock (2026-01-01): older than the reaper's 10 s grace for own runs. */
const LONG_AGO = new Date('2025-01-01T00:00:00.000Z');
const DEAD_PID = 999_999_999;
const FAILURE = 'run failed before issue advanced';

const runRow = (id: string) => f.db.query.heartbeatRuns.findFirst({ where: { id } });
const issueRow = (id: string) => f.db.query.issues.findFirst({ where: { id } });
const runsOf = (agentId: string) => f.db.query.heartbeatRuns.findMany({ where: { agentId } });
const wakesOf = (agentId: string) => f.db.query.wakeupRequests.findMany({ where: { agentId } });
const commentsOn = (issueId: string) => f.db.query.issueComments.findMany({ where: { issueId } });

/** A live process leading its own process group. */
function spawnAlive(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { detached: true, stdio: 'ignore' });
  children.add(child);
  groups.add(child.pid!);
  return child.pid!;
}

/**
 * A process group whose leader has exited while a member it started lives on: the leader's pid is
 * gone, the group (pgid = the leader's pid) is not.
 */
async function spawnOrphanedGroup(): Promise<{ leaderPid: number; pgid: number; descendantPid: number }> {
  const script = [
    "const { spawn } = require('node:child_process');",
    "const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });",
    'process.stdout.write(String(child.pid), () => process.exit(0));',
  ].join(' ');
  const leader = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  groups.add(leader.pid!);
  let stdout = '';
  leader.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  await new Promise<void>((resolve, reject) => {
    leader.once('error', reject);
    leader.once('close', () => resolve());
  });
  const descendantPid = Number.parseInt(stdout.trim(), 10);
  if (!Number.isInteger(descendantPid) || descendantPid <= 0) throw new Error(`no descendant pid from the group leader: ${stdout}`);
  pids.add(descendantPid);
  return { leaderPid: leader.pid!, pgid: leader.pid!, descendantPid };
}

/**
 * A `running` run of a local-child (`process`) agent, owned by this (live) instance on this host,
 * that the instance no longer executes: what the reaper finds after losing its in-memory handle.
 * With `withIssue`, the run holds an in-progress issue's checkout and execution lock.
 */
async function lostLocalRun(input: { pid: number | null; pgid?: number | null; processLossRetryCount?: number; withIssue?: boolean; agentStatus?: 'idle' | 'paused' | 'running' }) {
  const agent = await f.agent({ name: 'CodexCoder', status: input.agentStatus ?? 'idle' });
  await f.db.update(agents).set({ adapterType: 'process', adapterConfig: { command: process.execPath }, role: 'engineer' }).where(eq(agents.id, agent.id));
  const issue = input.withIssue ? await f.issue({ status: 'in_progress', assigneeAgentId: agent.id }) : null;
  const seeded = await f.run({ agentId: agent.id, issueId: issue?.id ?? null, status: 'running' });
  const [run] = await f.db
    .update(heartbeatRuns)
    .set({
      processPid: input.pid,
      processGroupId: input.pgid ?? null,
      processLossRetryCount: input.processLossRetryCount ?? 0,
      ownerInstanceId: f.engine.deps.settings.instanceId,
      ownerHost: f.engine.deps.settings.host,
      startedAt: LONG_AGO,
      updatedAt: LONG_AGO,
    })
    .where(eq(heartbeatRuns.id, seeded.id))
    .returning();
  if (issue) {
    await f.db
      .update(issues)
      .set({ checkoutRunId: run.id, executionRunId: run.id, executionAgentNameKey: 'codexcoder', executionLockedAt: LONG_AGO })
      .where(eq(issues.id, issue.id));
  }
  return { agent, issue, run };
}

/**
 * An agent-assigned open issue whose latest run ended unsuccessfully and left nothing on its way to
 * execution (reference `seedStrandedIssueFixture`): the run failed as `process_lost` with "run failed
 * before issue advanced", its wakeup failed; an in-progress issue keeps the run's checkout.
 */
async function strandedIssue(input: {
  status: 'todo' | 'in_progress';
  retryReason?: 'assignment_recovery' | 'issue_continuation_needed';
  assignToUser?: boolean;
  steps?: Array<Record<string, unknown>>;
}) {
  const agent = await f.agent({ name: 'CodexCoder', adapterConfig: { steps: input.steps ?? [] } });
  const issue = await f.issue({ status: input.status, assigneeAgentId: input.assignToUser ? null : agent.id });
  if (input.assignToUser) await f.db.update(issues).set({ assigneeUserId: 'user-1' }).where(eq(issues.id, issue.id));
  const wakeReason = input.retryReason === 'assignment_recovery' ? 'issue_assignment_recovery' : (input.retryReason ?? 'issue_assigned');
  const seeded = await f.run({
    agentId: agent.id,
    issueId: issue.id,
    status: 'failed',
    context: { taskId: issue.id, wakeReason, ...(input.retryReason ? { retryReason: input.retryReason } : {}) },
  });
  const finishedAt = f.clock.now();
  const [run] = await f.db
    .update(heartbeatRuns)
    .set({ errorCode: 'process_lost', error: FAILURE, startedAt: finishedAt, finishedAt, updatedAt: finishedAt })
    .where(eq(heartbeatRuns.id, seeded.id))
    .returning();
  await f.db
    .update(wakeupRequests)
    .set({ status: 'failed', reason: wakeReason, payload: { issueId: issue.id }, runId: run.id, finishedAt, error: FAILURE })
    .where(eq(wakeupRequests.id, run.wakeupRequestId!));
  if (input.status === 'in_progress') await f.db.update(issues).set({ checkoutRunId: run.id }).where(eq(issues.id, issue.id));
  return { agent, issue, run };
}

describe('heartbeat process recovery (engine-spec §10, reference recovery tests)', () => {
  // 1. §6.11-A: a pid that is still alive keeps its run running, flagged process_detached.
  // Adapted: "local" is this project's `process` adapter; the run is this live instance's own run
  // that it no longer executes (a run of a dead instance would be the crash path instead).
  it('keeps a local run active when the recorded pid is still alive', async () => {
    const pid = spawnAlive();
    const { run } = await lostLocalRun({ pid });

    const result = await f.engine.reapOrphanedRuns();
    expect(result.reaped).toBe(0);

    const after = await runRow(run.id);
    expect(after).toMatchObject({ status: 'running', errorCode: 'process_detached' });
    expect(after!.error).toContain(String(pid));
    expect((await f.db.query.wakeupRequests.findFirst({ where: { id: run.wakeupRequestId! } }))!.status).toBe('claimed');
  });

  // 2. §6.11-A/B: a dead pid fails the run as process_lost and queues exactly one retry, which takes
  // the issue's execution lock; the checkout stays with the lost run.
  it('queues exactly one retry when the recorded local pid is dead', async () => {
    const { agent, issue, run } = await lostLocalRun({ pid: DEAD_PID, withIssue: true });

    const result = await f.engine.reapOrphanedRuns();
    expect(result).toEqual({ reaped: 1, runIds: [run.id] });

    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(2);
    const failed = runs.find((r) => r.id === run.id)!;
    const retry = runs.find((r) => r.id !== run.id)!;
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'process_lost', livenessState: 'failed' });
    expect(failed.livenessReason).toContain('process_lost');
    expect(failed.resultJson).toMatchObject({ stopReason: 'process_lost', timeoutConfigured: false, timeoutFired: false });
    expect(retry).toMatchObject({ status: 'queued', retryOfRunId: run.id, processLossRetryCount: 1 });

    expect(await issueRow(issue!.id)).toMatchObject({ executionRunId: retry.id, checkoutRunId: run.id });
  });

  // 3. §6.11-A: the parent pid is gone but its process group lives on: the group is terminated
  // (descendant cleanup), the run fails as process_lost and its one retry holds the lock.
  it.skipIf(process.platform === 'win32')('reaps orphaned descendant process groups when the parent pid is already gone', async () => {
    const orphan = await spawnOrphanedGroup();
    expect(await groupAlive(orphan.pgid)).toBe(true);
    const { agent, issue, run } = await lostLocalRun({ pid: orphan.leaderPid, pgid: orphan.pgid, withIssue: true });

    const result = await f.engine.reapOrphanedRuns();
    expect(result).toEqual({ reaped: 1, runIds: [run.id] });
    await waitFor('the orphaned process group to die', async () => !(await groupAlive(orphan.pgid)), { timeoutMs: 2_000 });

    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(2);
    const failed = runs.find((r) => r.id === run.id)!;
    const retry = runs.find((r) => r.id !== run.id)!;
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'process_lost' });
    expect(failed.error).toContain('descendant process group');
    expect(retry.status).toBe('queued');
    expect((await issueRow(issue!.id))!.executionRunId).toBe(retry.id);
  });

  // 4. §6.11-A: the one process-loss retry is used up: the run fails, nothing is queued, the lock
  // is released and the checkout left alone. As in the reference fixture the agent is paused, so the
  // release's immediate recovery (§6.9 step 3) escalates instead of queueing a continuation run.
  it('does not queue a second retry after the first process-loss retry was already used', async () => {
    const { agent, issue, run } = await lostLocalRun({ pid: DEAD_PID, processLossRetryCount: 1, withIssue: true, agentStatus: 'paused' });

    const result = await f.engine.reapOrphanedRuns();
    expect(result).toEqual({ reaped: 1, runIds: [run.id] });

    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: run.id, status: 'failed', errorCode: 'process_lost' });
    expect(runs[0].error).not.toContain('retrying once');
    expect(await issueRow(issue!.id)).toMatchObject({ executionRunId: null, checkoutRunId: run.id, status: 'blocked' });
  });

  // 5. §6.11-D: a detached run that reports activity loses its warning.
  it('clears the detached warning when the run reports activity again', async () => {
    const agent = await f.agent();
    const seeded = await f.run({ agentId: agent.id, status: 'running' });
    await f.db
      .update(heartbeatRuns)
      .set({ errorCode: 'process_detached', error: 'Lost in-memory process handle, but child pid 123 is still alive' })
      .where(eq(heartbeatRuns.id, seeded.id));

    const updated = await f.engine.reportRunActivity(seeded.id);
    expect(updated).toMatchObject({ errorCode: null, error: null });
    expect(await runRow(seeded.id)).toMatchObject({ status: 'running', errorCode: null, error: null });
  });

  // 6. §6.15: the first heartbeat hook (telemetry upstream) gets the agent's role, not its adapter.
  it('tracks the first heartbeat with the agent role instead of adapter type', async () => {
    const seen: unknown[] = [];
    f.engine.deps.onFirstHeartbeat = (input) => seen.push(input);
    const { agent, run } = await lostLocalRun({ pid: null, agentStatus: 'running' });

    await f.engine.cancelRun({ runId: run.id });
    expect(seen).toEqual([{ agentId: agent.id, agentRole: 'engineer' }]);
  });

  // 7. §5 stop metadata on a manual cancel (§6.13): no timeout configured, none fired.
  it('records manual cancellation stop metadata', async () => {
    const { run } = await lostLocalRun({ pid: null, agentStatus: 'running' });

    const cancelled = await f.engine.cancelRun({ runId: run.id });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.resultJson).toMatchObject({ stopReason: 'cancelled', effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutFired: false });
  });

  // 8. §6.14 step 3: assigned todo work whose last run died, with no wake left, is dispatched again
  // once, as an assignment recovery.
  it('re-enqueues assigned todo work when the last issue run died and no wake remains', async () => {
    const { agent, issue, run } = await strandedIssue({ status: 'todo' });

    const result = await f.engine.reconcileStrandedIssues();
    expect(result).toMatchObject({ assignmentDispatched: 0, dispatchRequeued: 1, continuationRequeued: 0, escalated: 0, issueIds: [issue.id] });

    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(2);
    const retry = runs.find((r) => r.id !== run.id)!;
    expect(retry.contextSnapshot.retryReason).toBe('assignment_recovery');
    expect(retry).toMatchObject({ status: 'queued', retryOfRunId: run.id });
  });

  // 9. §6.14 steps 3 and 5: the one dispatch recovery was used: the issue is blocked with exactly
  // one comment carrying the latest failure.
  it('blocks assigned todo work after the one automatic dispatch recovery was already used', async () => {
    const { agent, issue } = await strandedIssue({ status: 'todo', retryReason: 'assignment_recovery' });

    const result = await f.engine.reconcileStrandedIssues();
    expect(result).toMatchObject({ dispatchRequeued: 0, escalated: 1, issueIds: [issue.id] });

    expect((await issueRow(issue.id))!.status).toBe('blocked');
    const comments = await commentsOn(issue.id);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain('retried dispatch');
    expect(comments[0].body).toContain('Latest retry failure: `process_lost` - run failed before issue advanced.');
    expect(await runsOf(agent.id)).toHaveLength(1);
  });

  // 10. §6.14 step 4: stranded in-progress work gets one continuation recovery run.
  it('re-enqueues continuation for stranded in-progress work with no active run', async () => {
    const { agent, issue, run } = await strandedIssue({ status: 'in_progress' });

    const result = await f.engine.reconcileStrandedIssues();
    expect(result).toMatchObject({ dispatchRequeued: 0, continuationRequeued: 1, escalated: 0, issueIds: [issue.id] });

    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(2);
    const retry = runs.find((r) => r.id !== run.id)!;
    expect(retry.contextSnapshot.retryReason).toBe('issue_continuation_needed');
    expect(retry.contextSnapshot).toMatchObject({ issueId: issue.id, taskId: issue.id, retryOfRunId: run.id, source: 'issue.continuation_recovery' });
    expect(retry.retryOfRunId).toBe(run.id);
  });

  // 11. §6.14 step 4 -> §6.4 -> §6.7 -> §6.8: the continuation recovery run really executes (a
  // `script` agent standing in for the reference's mocked adapter), only states a plan, is
  // classified plan_only, and its release enqueues one liveness continuation for it.
  it('classifies actionable plan-only recovery and enqueues one liveness continuation', async () => {
    await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
    const plan = 'I will inspect the repo next and then implement the fix.';
    const { agent, issue, run } = await strandedIssue({ status: 'in_progress', steps: [{ result: {}, summary: plan }] });

    expect((await f.engine.reconcileStrandedIssues()).continuationRequeued).toBe(1);
    const recovery = await waitFor('the continuation recovery run to finish its follow-up steps', async () => {
      const row = await f.db.query.heartbeatRuns.findFirst({ where: { agentId: agent.id, retryOfRunId: run.id } });
      return row?.settledAt ? row : null;
    });
    expect(recovery).toMatchObject({ status: 'succeeded', livenessState: 'plan_only' });
    expect(recovery.contextSnapshot.retryReason).toBe('issue_continuation_needed');

    const continuations = (await wakesOf(agent.id)).filter((w) => w.reason === 'run_liveness_continuation' && w.payload?.sourceRunId === recovery.id);
    expect(continuations).toHaveLength(1);
    expect(continuations[0].payload).toMatchObject({ issueId: issue.id, livenessState: 'plan_only', continuationAttempt: 1, sourceRunId: recovery.id });
  });

  // 12. §6.7: a run that writes a `plan` document made progress (concrete evidence): advanced, and
  // §6.8 enqueues no liveness continuation.
  it('treats a plan document update as progress and does not enqueue liveness continuation', async () => {
    await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
    const { agent, run } = await strandedIssue({
      status: 'in_progress',
      steps: [{ document: { key: 'plan', body: '# Plan\n\n- Inspect files\n- Implement fix' } }, { result: {}, summary: 'Plan:\n- Inspect files\n- Implement fix' }],
    });

    expect((await f.engine.reconcileStrandedIssues()).continuationRequeued).toBe(1);
    const recovery = await waitFor('the continuation recovery run to finish its follow-up steps', async () => {
      const row = await f.db.query.heartbeatRuns.findFirst({ where: { agentId: agent.id, retryOfRunId: run.id } });
      return row?.settledAt ? row : null;
    });
    expect(recovery).toMatchObject({ status: 'succeeded', livenessState: 'advanced' });
    expect((await wakesOf(agent.id)).some((w) => w.reason === 'run_liveness_continuation')).toBe(false);
  });

  // 13. §6.14 steps 4 and 5: the continuation recovery was used: blocked, one comment with the
  // latest failure.
  it('blocks stranded in-progress work after the continuation retry was already used', async () => {
    const { agent, issue } = await strandedIssue({ status: 'in_progress', retryReason: 'issue_continuation_needed' });

    const result = await f.engine.reconcileStrandedIssues();
    expect(result).toMatchObject({ continuationRequeued: 0, escalated: 1, issueIds: [issue.id] });

    expect((await issueRow(issue.id))!.status).toBe('blocked');
    const comments = await commentsOn(issue.id);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain('retried continuation');
    expect(comments[0].body).toContain('Latest retry failure: `process_lost` - run failed before issue advanced.');
    expect(await runsOf(agent.id)).toHaveLength(1);
  });

  // 14. §6.14 step 1: only agent-assigned issues are candidates; a person's work is left alone.
  it('does not reconcile user-assigned work through the agent stranded-work recovery path', async () => {
    const { agent, issue, run } = await strandedIssue({ status: 'todo', assignToUser: true });

    const result = await f.engine.reconcileStrandedIssues();
    expect(result).toEqual({ assignmentDispatched: 0, dispatchRequeued: 0, continuationRequeued: 0, escalated: 0, skipped: 0, issueIds: [] });

    expect(await issueRow(issue.id)).toMatchObject({ status: 'todo', assigneeUserId: 'user-1', assigneeAgentId: null, executionRunId: null });
    expect((await runsOf(agent.id)).map((r) => r.id)).toEqual([run.id]);
    expect(await wakesOf(agent.id)).toHaveLength(1);
    expect(await commentsOn(issue.id)).toEqual([]);
  });
});
