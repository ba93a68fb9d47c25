// GET /metrics speaks Prometheus and counts what happened.
import { spawnSync } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineInstances, heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { createAgent, enqueue, runFinished } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

describe('/metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const scrape = async () => {
    const response = await fetch(`${server.app.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ')[1]) : undefined;
  };

  it('reports runs by status, queue depth, claim latency, run duration, subscribers, log bytes and process health', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 20 }, { log: 'twelve bytes' }] } });
    const { runId } = await enqueue(server, { agentId });
    await runFinished(server, runId!);
    const text = await waitFor('the finished run to be counted', async () => {
      const body = await scrape();
      // Counted once the run is finished and this instance has let go of it.
      const done = value(body, 'heartbeat_run_duration_seconds_count{status="succeeded"}') === 1 && value(body, 'heartbeat_runs_executing') === 0;
      return done ? body : null;
    });
    expect(value(text, 'heartbeat_runs{status="succeeded"}')).toBe(1);
    expect(value(text, 'heartbeat_queue_depth{state="queued"}')).toBe(0);
    expect(value(text, 'heartbeat_claim_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'heartbeat_runs_finished_total{status="succeeded"}')).toBe(1);
    expect(value(text, 'heartbeat_subscribers')).toBe(0);
    // 'twelve bytes' and the newline the script's log step adds.
    expect(value(text, 'heartbeat_run_log_bytes_written_total')).toBe(13);
    expect(value(text, 'heartbeat_runs_executing')).toBe(0);
    expect(text).toContain('heartbeat_notify_lag_seconds_bucket');
    expect(text).toMatch(/^heartbeat_process_resident_memory_bytes \d+/m);
  });

  it('counts the instances declared dead and the runs reaped', async () => {
    const { db } = server.database;
    const agentId = await createAgent(server, { adapterConfig: { steps: [] } });
    const before = await scrape();
    // An instance of this host whose process has exited, with a run it was executing.
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    const [dead] = await db
      .insert(engineInstances)
      .values({ host: server.app.engine.deps.settings.host, pid: exited, leaseExpiresAt: new Date(Date.now() + 60_000) })
      .returning();
    const [wake] = await db.insert(wakeupRequests).values({ companyId: server.companyId, agentId: agentId, source: 'on_demand', status: 'claimed' }).returning();
    const [run] = await db
      .insert(heartbeatRuns)
      .values({ companyId: server.companyId, agentId: agentId, status: 'running', wakeupRequestId: wake.id, ownerInstanceId: dead.id })
      .returning();
    // This call or the server's own periodic loop, whichever comes first, reaps it: once, and counted.
    await server.app.engine.reapOrphanedRuns();
    const [reaped] = await db.select({ status: heartbeatRuns.status }).from(heartbeatRuns).where(eq(heartbeatRuns.id, run.id));
    expect(reaped.status).not.toBe('running');
    const after = await scrape();
    expect(value(after, 'heartbeat_instances_declared_dead_total')).toBe((value(before, 'heartbeat_instances_declared_dead_total') ?? 0) + 1);
    expect(value(after, 'heartbeat_runs_reaped_total')).toBe((value(before, 'heartbeat_runs_reaped_total') ?? 0) + 1);
  });
});

describe('/metrics across instances', () => {
  it('measures the live-signal delay from one instance to another', async () => {
    const a = await startTestServer();
    const b = await startTestServer({ database: a.database, env: { HEARTBEAT_TICK_MS: '0' } });
    try {
      const agentId = await createAgent(a, {});
      const { runId } = await enqueue(a, { agentId });
      await runFinished(a, runId!);
      await waitFor('B to have measured signals from A', async () => {
        const text = await (await fetch(`${b.app.url}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('heartbeat_notify_lag_seconds_count '));
        return line && Number(line.split(' ')[1]) > 0;
      });
    } finally {
      await b.close();
      await a.close();
    }
  });
});
