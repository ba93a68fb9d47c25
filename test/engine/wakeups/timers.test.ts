// Timer wakeups with an injected clock (§6.15).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

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
