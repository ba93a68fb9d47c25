// GET /metrics counts running runs by output-silence level (docs/engine.md §17.6), as last evaluated.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { ManualClock } from '../../engine/model/clock.ts';
import { createAgent } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('/metrics: silent runs', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-07-01T00:00:00.000Z'));
  beforeAll(async () => {
    server = await startTestServer({ engine: { clock, tickIntervalMs: 0 } });
  });
  afterAll(() => server?.close());

  const levels = async () => {
    const text = await (await fetch(`${server.app.url}/metrics`)).text();
    const value = (level: string) => Number(text.split('\n').find((l) => l.startsWith(`heartbeat_runs_output_silence{level="${level}"} `))?.split(' ')[1]);
    return { ok: value('ok'), suspicious: value('suspicious'), critical: value('critical'), snoozed: value('snoozed') };
  };

  it('heartbeat_runs_output_silence{level}: running runs only, every level reported', async () => {
    expect(await levels()).toEqual({ ok: 0, suspicious: 0, critical: 0, snoozed: 0 });
    const agentId = await createAgent(server, {});
    const insert = async (status: 'running' | 'succeeded') => {
      const [wake] = await server.database.db.insert(wakeupRequests).values({ companyId: server.companyId, agentId, source: 'on_demand', status: 'claimed' }).returning();
      const [run] = await server.database.db
        .insert(heartbeatRuns)
        .values({ companyId: server.companyId, agentId, status, wakeupRequestId: wake.id, createdAt: clock.now(), startedAt: clock.now() })
        .returning();
      return run.id;
    };
    await insert('running'); // silent 5 h: critical
    const b = await insert('running'); // started 2 h ago: suspicious
    const c = await insert('running'); // output now: ok
    const d = await insert('running'); // snoozed
    await insert('succeeded'); // not counted
    clock.advance(5 * 3_600_000);
    await server.database.db.update(heartbeatRuns).set({ startedAt: new Date(clock.now().getTime() - 2 * 3_600_000) }).where(eq(heartbeatRuns.id, b));
    await server.database.db.update(heartbeatRuns).set({ lastOutputAt: clock.now() }).where(eq(heartbeatRuns.id, c));
    await server.app.engine.evaluateRunSilence();
    await server.app.engine.snoozeRunSilence({ runId: d, until: new Date(clock.now().getTime() + 3_600_000) });
    expect(await levels()).toEqual({ ok: 1, suspicious: 1, critical: 1, snoozed: 1 });
  });
});
