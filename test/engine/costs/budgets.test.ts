// Budgets (docs/engine.md §14) on two instances sharing one database: the run whose cost crosses a
// company budget stops the rest of the company's work (`budget_paused`), both instances then refuse
// wakeups with BUDGET_EXCEEDED (each storing the skipped wakeup), and raising the limit lets work run.
import { describe, expect, it } from 'vitest';
import { createAgent, runFinished } from '../../support/api.ts';
import { useInstancePair } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const pair = useInstancePair();
const SLEEPER = { steps: [{ sleepMs: 60_000 }] };
/** A run that reports 60 cents of metered use. */
const SPENDER = { steps: [{ usage: { inputTokens: 5000, outputTokens: 400, costUsd: 0.6, billingType: 'metered_api', provider: 'anthropic' } }] };

describe('a company budget', () => {
  it('crossed by a run: the scope stops, both instances refuse, and a higher limit lets it run again', async () => {
    const { a, b } = pair;
    const db = a.database.db;
    const budget = await a.app.engine.budgets.set({ companyId: a.companyId, scope: 'company', period: 'month', limitCents: 50, warnPercent: 80 });
    expect(budget).toMatchObject({ scope: 'company', scopeId: a.companyId, limitCents: 50, spentCents: 0, status: 'ok' });

    // Work on its way: a running run and one queued behind it (the agent runs one at a time).
    const sleeper = await createAgent(a, { adapterConfig: SLEEPER, heartbeat: { maxConcurrentRuns: 1 } });
    const running = await a.app.engine.enqueueWakeup({ companyId: a.companyId, agentId: sleeper, reason: 'long' });
    const queued = await a.app.engine.enqueueWakeup({ companyId: a.companyId, agentId: sleeper, reason: 'next', payload: { taskKey: 'other' } });
    await waitFor('the sleeper running', async () => (await db.query.heartbeatRuns.findFirst({ where: { id: running.run!.id } }))?.status === 'running');
    expect(queued.run).toMatchObject({ status: 'queued' });

    // The run that crosses the limit (whichever instance executes it).
    const spender = await createAgent(a, { adapterConfig: SPENDER });
    const spent = await b.app.engine.enqueueWakeup({ companyId: b.companyId, agentId: spender, reason: 'spend' });
    expect(await runFinished(b, spent.run!.id)).toMatchObject({ status: 'succeeded' });
    for (const id of [running.run!.id, queued.run!.id]) {
      const stopped = await runFinished(a, id);
      expect(stopped).toMatchObject({ status: 'cancelled', error: 'Cancelled due to budget pause' });
      expect(stopped.resultJson).toMatchObject({ stopReason: 'budget_paused' });
    }
    expect(await a.app.engine.budgets.list(a.companyId)).toEqual([expect.objectContaining({ spentCents: 60, status: 'blocked' })]);

    // Both instances refuse, with the budget in the error, and store the wakeup as skipped.
    for (const server of [a, b]) {
      const refused = await server.app.engine.enqueueWakeup({ companyId: server.companyId, agentId: spender, reason: 'more' }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'BUDGET_EXCEEDED', details: { scope: 'company', scopeId: a.companyId, limitCents: 50, spentCents: 60 } });
    }
    const skipped = await db.query.wakeupRequests.findMany({ where: { agentId: spender, status: 'skipped' } });
    expect(skipped.map((w) => w.reason)).toEqual(['budget.blocked', 'budget.blocked']);

    // A higher limit unblocks, on both instances.
    await b.app.engine.budgets.set({ companyId: b.companyId, scope: 'company', period: 'month', limitCents: 1_000 });
    const again = await waitFor('a wakeup accepted on A', () =>
      a.app.engine.enqueueWakeup({ companyId: a.companyId, agentId: sleeper, reason: 'again' }).catch(() => null),
    );
    expect(again.outcome).toBe('queued');
    await a.app.engine.cancelRun({ runId: again.run!.id });
  });

  it('refuses a negative limit, a bad warning percentage and an unknown scope, and changes nothing', async () => {
    const { a } = pair;
    const before = await a.app.engine.budgets.list(a.companyId);
    const attempts = [
      { scope: 'company' as const, period: 'month' as const, limitCents: -1 },
      { scope: 'company' as const, period: 'month' as const, limitCents: 10, warnPercent: 0 },
      { scope: 'agent' as const, scopeId: '00000000-0000-4000-8000-000000000123', period: 'month' as const, limitCents: 10 },
      { scope: 'project' as const, period: 'all_time' as const, limitCents: 10 },
    ];
    for (const attempt of attempts) {
      const error = await a.app.engine.budgets.set({ companyId: a.companyId, ...attempt }).catch((e: unknown) => e);
      expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain((error as { code: string }).code);
    }
    expect(await a.app.engine.budgets.list(a.companyId)).toEqual(before);
  });
});
