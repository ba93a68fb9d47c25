// The fanout's promises about signals between instances, with a transport the test controls: a
// batch that fails to send is sent again, in order; a reconnect catches subscribers up.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createInProcessEventBus, type LiveEvent } from '../../engine/live/live-events.ts';
import type { LiveSignal } from '../../engine/live/live-signals.ts';
import { type CatchUp, wireSignals } from '../../server/live/fanout.ts';
import { SignalHub } from '../../server/live/hub.ts';
import { waitFor } from '../support/wait.ts';

const logger = pino({ level: 'silent' });
const agentEvent = (agentId: string): LiveEvent => ({ type: 'agent.status', companyId: 'c1', agentId, status: 'idle', lastHeartbeatAt: null, outcome: 'succeeded' });
const agentsIn = (batches: string[]) => batches.flatMap((batch) => (JSON.parse(batch) as { signals: Array<{ agentId: string }> }).signals.map((s) => s.agentId));

describe('live signal fanout', () => {
  it('sends a batch that failed again until it goes, and the batches after it only then, in order', async () => {
    const bus = createInProcessEventBus();
    const sent: string[] = [];
    let failures = 3;
    let attempts = 0;
    let resends = 0;
    const wiring = wireSignals({
      bus,
      hub: new SignalHub(),
      instanceId: 'i1',
      logger,
      sleep: async () => {},
      onResend: () => void (resends += 1),
      transport: {
        send: async (payload) => {
          attempts += 1;
          if (failures-- > 0) throw new Error('connection closed');
          sent.push(payload);
        },
        close: async () => {},
      },
    });
    bus.publish([agentEvent('a1')]);
    bus.publish([agentEvent('a2'), agentEvent('a3')]);
    await waitFor('every signal to be sent', () => agentsIn(sent).length === 3);
    expect(agentsIn(sent)).toEqual(['a1', 'a2', 'a3']);
    expect(attempts).toBe(sent.length + 3);
    expect(resends).toBe(3);
    await wiring.close();
  });

  it('after a reconnect (not the first connect), announces the runs changed since the last batch it heard, less a margin', async () => {
    const hub = new SignalHub();
    const delivered: LiveSignal[] = [];
    const unwatch = hub.watch({ companyId: 'c1' }, (signal) => delivered.push(signal));
    const asked: Array<{ companyIds: string[]; since: Date }> = [];
    const changed: LiveSignal = {
      kind: 'run',
      companyId: 'c1',
      runId: 'r1',
      agentId: 'a1',
      issueId: null,
      state: { status: 'succeeded', createdAt: '', error: null, errorCode: null, startedAt: null, finishedAt: null, settledAt: null, updatedAt: '', livenessState: null, scheduledRetryAt: null, scheduledRetryAttempt: 0 },
    };
    const catchUp: CatchUp = async (companyIds, since) => {
      asked.push({ companyIds, since });
      return { signals: [changed], truncated: false };
    };
    const wiring = wireSignals({ bus: createInProcessEventBus(), hub, instanceId: 'i1', logger, transport: null, catchUp });
    wiring.connected(true);
    expect(asked).toEqual([]);
    const before = Date.now();
    wiring.receive(JSON.stringify({ from: 'i1', sentAt: before, signals: [] }));
    const after = Date.now();
    wiring.connected(false);
    await waitFor('the catch-up', () => delivered.length === 1);
    expect(delivered).toEqual([changed]);
    expect(asked).toHaveLength(1);
    expect(asked[0].companyIds).toEqual(['c1']);
    // Heard between `before` and `after`; the margin is 5 s.
    expect(asked[0].since.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    expect(asked[0].since.getTime()).toBeLessThanOrEqual(after - 5_000);

    // A transport that says it is back before it listens again: the read waits, the window does not
    // move with the batches heard meanwhile. (The clock is the test's.)
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout'] });
    let heard: number;
    try {
      heard = Date.now();
      wiring.receive(JSON.stringify({ from: 'i1', sentAt: heard, signals: [] }));
      wiring.connected(false, 250);
      vi.advanceTimersByTime(100);
      wiring.receive(JSON.stringify({ from: 'i2', sentAt: Date.now(), signals: [] }));
      expect(asked).toHaveLength(1);
      vi.advanceTimersByTime(200);
    } finally {
      vi.useRealTimers();
    }
    await waitFor('the later catch-up', () => asked.length === 2);
    expect(asked[1].since.getTime()).toBe(heard - 5_000);

    unwatch();
    expect(hub.companies()).toEqual([]);
    await wiring.close();
  });
});
