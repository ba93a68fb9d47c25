// Live events are published after their transaction commits, never for one rolled back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { transact } from '../../../engine/model/deps.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

describe('live events', () => {
  it('are published after the commit, and never for a rolled-back transaction', async () => {
    const agent = await f.agent();
    const before = f.published.length;
    await expect(
      transact(f.engine.deps, async (_tx, events) => {
        events.push({ type: 'agent.status', companyId: f.companyId, agentId: agent.id, status: 'idle', lastHeartbeatAt: null, outcome: 'x' });
        expect(f.published.length).toBe(before); // not yet: still inside the transaction
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(f.published.length).toBe(before);

    const result = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id });
    const queued = f.published.slice(before).find((e) => e.type === 'heartbeat.run.queued');
    expect(queued).toMatchObject({ runId: result.run!.id, agentId: agent.id, companyId: f.companyId, wakeupRequestId: result.wakeupRequest.id });
  });
});
