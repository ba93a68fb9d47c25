// Runs of real child processes through the whole server: run tokens, outcomes, cancellation of
// the process group, and cancellation from another instance.
import { spawn } from 'node:child_process';
import { pidAlive } from '../../../engine/adapters/process-groups.ts';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineInstances, heartbeatRuns, wakeupRequests } from '../../../db/schema.ts';
import { createAgent, createIssue, enqueue, gql, issueGid, runEventPayload, runFinished, runGid } from '../../support/api.ts';
import { postGraphQL } from '../../support/graphql.ts';
import { startTestServer, type TestServer, useInstancePair } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/agents/${name}`, import.meta.url));
const processAgent = (script: string, args: string[] = [], extra: Record<string, unknown> = {}) => ({
  adapterType: 'process' as const,
  adapterConfig: { command: process.execPath, args: [fixture(script), ...args], ...extra },
});
/** Alive and not a zombie. */
const alive = (pid: number) => pidAlive(pid);

describe('process runs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const finished = (id: string) => runFinished(server, id);

  it('hands the run token over; it works for its own issue and for nothing else, and dies with the run', async () => {
    const foreign = await createIssue(server, { title: 'Not yours' });
    const agentId = await createAgent(server, processAgent('api-agent.mjs', [issueGid(foreign.issueId)]));
    const { issueId, wakeup } = await createIssue(server, { title: 'Yours', assigneeAgentId: agentId });
    expect(wakeup?.outcome).toBe('QUEUED');
    const runId = (await server.database.db.query.heartbeatRuns.findFirst({ where: { issueId } }))!.id;
    const run = await finished(runId);
    expect(run.status).toBe('succeeded');
    const result = run.resultJson as Record<string, { status: number; code: string | null; data: any }> & { token: string };
    expect(result.comment.code).toBeNull();
    expect(result.comment.data.addIssueComment.comment).toEqual({ body: 'hello from the run', createdByRunId: runId });
    expect(result.document.data.putIssueDocument).toEqual({ key: 'plan', revisionCount: 1 });
    expect(result.viewer.code).toBe('FORBIDDEN');
    expect(result.foreignComment.code).toBe('FORBIDDEN');
    expect(result.createAgent.code).toBe('FORBIDDEN');
    // Nothing was written to the other issue, and no agent was created.
    expect(await server.database.db.query.issueComments.findMany({ where: { issueId: foreign.issueId } })).toEqual([]);
    expect(await server.database.db.query.agents.findMany()).toHaveLength(1);
    // The run ended: its token no longer authenticates.
    const after = await postGraphQL(server.graphqlUrl, `mutation($i: AddIssueCommentInput!) { addIssueComment(input: $i) { comment { id } } }`, {
      key: result.token,
      variables: { i: { issueId: issueGid(issueId), body: 'too late' } },
    });
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('maps a non-zero exit to failed with its code and keeps the excerpts', async () => {
    const agentId = await createAgent(server, processAgent('agent.mjs', ['exit', '3']));
    const { runId } = await enqueue(server, { agentId });
    const run = await finished(runId!);
    expect(run).toMatchObject({ status: 'failed', exitCode: 3, errorCode: 'adapter_failed', error: 'Process exited with code 3' });
    expect(run.stderrExcerpt).toContain('boom');
    expect(run.resultJson).toMatchObject({ stopReason: 'adapter_failed', timeoutConfigured: false });
    const wake = await server.database.db.query.wakeupRequests.findFirst({ where: { runId: runId! } });
    expect(wake!.status).toBe('failed');
  });

  it('a result nested 100,000 deep is kept to 64 levels: the run succeeds with it', async () => {
    const agentId = await createAgent(server, processAgent('agent.mjs', ['deep-result', '100000']));
    const { runId } = await enqueue(server, { agentId });
    const run = await finished(runId!);
    expect(run).toMatchObject({ status: 'succeeded', errorCode: null, resultJson: { summary: 'deep' } });
    let node = run.resultJson as Record<string, unknown>;
    let depth = 0;
    while (!node._truncated) [node, depth] = [node.n as Record<string, unknown>, depth + 1];
    expect(depth).toBe(64);
    expect(node).toEqual({ _truncated: true, type: 'object', keys: ['n'] });
  });

  it('a timeout ends the run as timed_out and kills the process', async () => {
    const agentId = await createAgent(server, processAgent('agent.mjs', ['grandchild'], { timeoutSec: 1, graceSec: 1 }));
    const { runId } = await enqueue(server, { agentId });
    const run = await finished(runId!);
    expect(run).toMatchObject({ status: 'timed_out', errorCode: 'timeout' });
    expect(run.resultJson).toMatchObject({ stopReason: 'timeout', timeoutFired: true, effectiveTimeoutSec: 1, timeoutSource: 'config' });
    await waitFor('the process group to be gone', () => !alive(run.processPid!));
  });

  it('cancelRun stops the run and kills its whole process group, grandchild included', async () => {
    const agentId = await createAgent(server, processAgent('agent.mjs', ['grandchild']));
    const { runId } = await enqueue(server, { agentId });
    const pids = await runEventPayload<{ child: number; grandchild: number }>(server, runId!, 'pids');
    const cancelled = await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { status error errorCode } }`, { id: runGid(runId!) });
    expect(cancelled.cancelRun).toEqual({ status: 'CANCELLED', error: 'Cancelled by control plane', errorCode: 'cancelled' });
    await waitFor('child and grandchild to die', () => !alive(pids.child) && !alive(pids.grandchild), { timeoutMs: 5_000 });
    const run = await finished(runId!);
    expect(run.status).toBe('cancelled');
    expect(run.resultJson).toMatchObject({ stopReason: 'cancelled', timeoutFired: false });
    // Cancelling a finished run changes nothing.
    const again = await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runGid(runId!) });
    expect(again.cancelRun.status).toBe('CANCELLED');
  });

  it('a cancelled run settles once its process is gone and what it left is recorded; nothing changes after', async () => {
    const agentId = await createAgent(server, processAgent('agent.mjs', ['ignore-term'], { graceSec: 1 }));
    const { runId } = await enqueue(server, { agentId });
    await waitFor('the ready event', async () => (await server.database.db.query.runEvents.findMany({ where: { runId: runId!, eventType: 'ready' } })).length > 0);
    await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runGid(runId!) });
    const row = () => server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
    const settled = await waitFor('the run to settle', async () => ((await row())?.settledAt ? row() : null));
    // The process shrugged off SIGTERM and was killed after the grace second: that is on the row.
    expect(settled).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', signal: 'SIGKILL', runTokenHash: null });
    expect(settled!.stderrExcerpt).toContain('ignoring SIGTERM');
    expect(settled!.logBytes).toBeGreaterThan(0);
    expect(settled!.logSha256).toMatch(/^[0-9a-f]{64}$/);
    await waitFor('the engine to let go of the run', () => !server.app.engine.activeRunIds().includes(runId!));
    expect(await row()).toEqual(settled);
  });

  it('a run cancelled while its executor is gone is settled by the reaper, which stops its process group', async () => {
    const agentId = await createAgent(server, processAgent('agent.mjs', ['sleeper']));
    const { db } = server.database;
    // A run an instance elsewhere was executing: its process (a group of its own) lives on this host.
    const orphan = spawn(process.execPath, [fixture('agent.mjs'), 'sleeper'], { detached: true, stdio: 'ignore' });
    orphan.unref();
    const [owner] = await db.insert(engineInstances).values({ host: 'elsewhere', pid: 1, leaseExpiresAt: new Date(Date.now() + 3_600_000) }).returning();
    const [wake] = await db.insert(wakeupRequests).values({ companyId: server.companyId, agentId, source: 'on_demand', status: 'claimed' }).returning();
    const [run] = await db
      .insert(heartbeatRuns)
      .values({
        companyId: server.companyId, agentId, status: 'running', wakeupRequestId: wake.id,
        ownerInstanceId: owner.id, ownerHost: server.app.engine.deps.settings.host, processPid: orphan.pid, processGroupId: orphan.pid,
      })
      .returning();
    try {
      await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runGid(run.id) });
      const row = () => db.query.heartbeatRuns.findFirst({ where: { id: run.id } });
      // Its executor is alive, as far as anyone can tell: settling is its job.
      expect(await row()).toMatchObject({ status: 'cancelled', settledAt: null });
      await server.app.engine.reapOrphanedRuns();
      expect((await row())!.settledAt).toBeNull();

      // Its lease lapses: once this instance has renewed its own for a full lease (the database was
      // reachable all along), the owner is dead.
      await db.update(engineInstances).set({ leaseExpiresAt: new Date(Date.now() - 1_000) }).where(eq(engineInstances.id, owner.id));
      await waitFor('the reaper to settle the run', async () => {
        await server.app.engine.reapOrphanedRuns();
        return (await row())!.settledAt !== null;
      }, { timeoutMs: 15_000, intervalMs: 200 });
      expect(await row()).toMatchObject({ status: 'cancelled', settledAt: expect.any(Date) });
      expect(alive(orphan.pid!)).toBe(false);
    } finally {
      if (alive(orphan.pid!)) process.kill(-orphan.pid!, 'SIGKILL');
    }
  });
});

describe('cancellation across instances', () => {
  const pair = useInstancePair();

  // How fast the kill follows the cancel is a bench figure (bench/scenarios/cancel.ts), not asserted here.
  it('a cancel sent to instance B kills the process group instance A runs', async () => {
    const { a, b } = pair;
    const agentId = await createAgent(a, processAgent('agent.mjs', ['grandchild']));
    const { runId } = await enqueue(a, { agentId });
    const pids = await runEventPayload<{ child: number; grandchild: number }>(a, runId!, 'pids');
    const row = await a.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
    expect(row!.ownerInstanceId).toBe(a.app.engine.instanceId);
    expect(b.app.engine.activeRunIds()).not.toContain(runId);

    const started = performance.now();
    await gql(b, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runGid(runId!) }, a.adminKey);
    await waitFor('instance A to kill the process group (child and grandchild) of the run cancelled through instance B', () => !alive(pids.child) && !alive(pids.grandchild), {
      timeoutMs: 30_000,
      intervalMs: 5,
    });
    console.info(`cross-instance cancel: process group gone ${Math.round(performance.now() - started)} ms after the cancel`);
    await waitFor('instance A to let go of the run', () => !a.app.engine.activeRunIds().includes(runId!));
    expect((await a.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))!.status).toBe('cancelled');
  }, 60_000);
});

describe('graceful shutdown', () => {
  it('a run still going when the grace ends is handed to recovery: its process is killed, it fails as process_lost and is retried once', async () => {
    const server = await startTestServer({ env: { HEARTBEAT_SHUTDOWN_GRACE_MS: '0' } });
    try {
      const agentId = await createAgent(server, processAgent('agent.mjs', ['grandchild']));
      const { runId } = await enqueue(server, { agentId });
      const pids = await runEventPayload<{ child: number; grandchild: number }>(server, runId!, 'pids');
      await server.app.close();
      const run = await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
      expect(run).toMatchObject({ status: 'failed', errorCode: 'process_lost' });
      expect(run!.resultJson).toMatchObject({ stopReason: 'process_lost' });
      expect(run!.error).toContain('the server shut down before the run finished; retrying once');
      await waitFor('child and grandchild to die', () => !alive(pids.child) && !alive(pids.grandchild), { timeoutMs: 5_000 });
      // Its one retry waits, queued, for the next instance to start.
      const retries = await server.database.db.query.heartbeatRuns.findMany({ where: { retryOfRunId: runId! } });
      expect(retries.map((r) => r.status)).toEqual(['queued']);
    } finally {
      // close() is idempotent: it only drops the database and data dir when the app already stopped.
      await server.close();
    }
  });
});
