// Acceptance: a server killed with SIGKILL mid-run. Another instance on the same database notices
// the dead lease, fails the run as process_lost, kills the orphaned process group, queues exactly
// one retry and runs it to success; its run-status subscribers see every transition. How fast a
// dead instance's runs are reaped is a bench figure (bench/scenarios/reaping.ts), not asserted here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../engine/adapters/process-groups.ts';
import { agentGid, createAgent, enqueue, runEventPayload, runGid } from '../support/api.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { wsClient } from '../support/graphql.ts';
import { spawnHeartbeat, type HeartbeatProcess } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const KEY = 'hb_crash_test_bootstrap_key_00000000001';
const agentScript = fileURLToPath(new URL('../fixtures/agents/crash-agent.mjs', import.meta.url));

describe('a server killed mid-run', () => {
  let database: TestDatabase;
  let dataDir: string;
  let doomed: HeartbeatProcess;
  let survivor: TestServer | undefined;
  let pids: { child: number; grandchild: number } | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'heartbeat-crash-'));
  });
  afterAll(async () => {
    doomed?.child.kill('SIGKILL');
    for (const pid of [pids?.child, pids?.grandchild]) if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await survivor?.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is recovered by another instance: process_lost, group killed, one retry run to success', async () => {
    doomed = spawnHeartbeat(['serve'], { DATABASE_URL: database.url, PORT: '0', HEARTBEAT_BOOTSTRAP_KEY: KEY, HEARTBEAT_DATA_DIR: join(dataDir, 'a') });
    const [, graphqlUrl] = await doomed.waitFor(/GraphiQL:\s+(\S+)/);
    // Talk to the doomed server through the same helpers, via a minimal stand-in for its handle.
    const a = { graphqlUrl, adminKey: KEY, database } as unknown as TestServer;
    const agentId = await createAgent(a, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [agentScript] } });
    const { runId } = await enqueue(a, { agentId });
    pids = await runEventPayload<{ child: number; grandchild: number }>(a, runId!, 'pids');
    const original = await database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
    expect(original!.status).toBe('running');

    // The survivor: a second instance on the same database, with a subscriber on it.
    survivor = await startTestServer({ database });
    const seen: Array<{ id: string; status: string }> = [];
    const ws = wsClient(survivor.wsUrl, { authorization: `Bearer ${KEY}` });
    const unsubscribe = ws.subscribe<{ runStatus: { id: string; status: string } }>(
      { query: 'subscription($a: ID) { runStatus(agentId: $a) { id status } }', variables: { a: agentGid(agentId) } },
      { next: (r) => seen.push(r.data!.runStatus), error: () => {}, complete: () => {} },
    );
    await waitFor('the subscriber', () => survivor!.app.hub.size === 1);

    doomed.child.kill('SIGKILL');
    const killedAt = performance.now();
    expect(await doomed.exited).toBe('SIGKILL');
    expect(pidAlive(pids.child)).toBe(true); // the orphan outlived its server

    const retry = await waitFor(
      'the surviving instance to recover the run of the killed server: its one retry to succeed',
      async () => {
        const row = await database.db.query.heartbeatRuns.findFirst({ where: { retryOfRunId: runId! } });
        return row?.status === 'succeeded' ? row : null;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    const elapsed = performance.now() - killedAt;

    const lost = await database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
    expect(lost).toMatchObject({ status: 'failed', errorCode: 'process_lost' });
    expect(lost!.error).toMatch(/retrying once$/);
    expect(retry).toMatchObject({ processLossRetryCount: 1, ownerInstanceId: survivor.app.engine.instanceId });
    expect(retry.resultJson).toMatchObject({ recovered: true });
    expect(await database.db.query.heartbeatRuns.findMany({ where: { retryOfRunId: runId! } })).toHaveLength(1);
    expect(pidAlive(pids.child) || pidAlive(pids.grandchild)).toBe(false);

    await waitFor('the subscriber to see the retry succeed', () => seen.some((s) => s.id === runGid(retry.id) && s.status === 'SUCCEEDED'));
    unsubscribe();
    await ws.dispose();
    const of = (id: string) => seen.filter((s) => s.id === runGid(id)).map((s) => s.status).filter((s, i, all) => s !== all[i - 1]);
    expect(of(runId!)).toEqual(['FAILED']);
    expect(of(retry.id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    console.info(`crash recovery: retry succeeded ${Math.round(elapsed)} ms after the kill`);
  }, 120_000);
});
