// The pipelined enqueue (enqueue-without-issue.ts enqueuePipelined) writes exactly what the
// general path writes, and hands every case it does not cover to the general path unchanged.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns, wakeupRequests } from '../../../db/schema.ts';
import { enqueuePipelined } from '../../../engine/wakeups/enqueue-without-issue.ts';
import { newRunRow } from '../../../engine/store/statements.ts';
import { enrichWakeContext, wakeScopeKey } from '../../../engine/rules/wake-context.ts';
import { enqueueWakeup, type EnqueueWakeupInput } from '../../../engine/wakeups/enqueue.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

/** As the running engine enqueues: a new plain run is claimed and started in the same transaction. */
const wake = (input: Omit<EnqueueWakeupInput, 'companyId'> & { companyId?: string }) =>
  enqueueWakeup(f.engine.deps, { companyId: f.companyId, ...input }, { claim: true });

/** The pipelined path alone, with the request prepared as enqueueWakeup prepares it; null = not taken. */
function pipelined(input: Omit<EnqueueWakeupInput, 'companyId'> & { companyId?: string }, claim = true) {
  const full = { companyId: f.companyId, ...input };
  const source = full.source ?? 'on_demand';
  const payload = full.payload ?? null;
  const ctx = enrichWakeContext(full.context ?? {}, { source, triggerDetail: null, reason: full.reason ?? null, payload });
  const now = f.engine.deps.clock.now();
  return enqueuePipelined(f.engine.deps, full, (agent) => ({ input: full, agent, source, payload, ctx, now }), wakeScopeKey(ctx), claim, ctx);
}

/** A row without what differs between two equivalent requests: ids, times, the token, the log path. */
function comparable(row: Record<string, unknown>): Record<string, unknown> {
  const varying = new Set(['id', 'agentId', 'runId', 'wakeupRequestId', 'runTokenHash', 'logRef', 'idempotencyKey']);
  return Object.fromEntries(Object.entries(row).filter(([key, value]) => !varying.has(key) && !(value instanceof Date)));
}

describe('pipelined enqueue', () => {
  it('writes the same wakeup and run, claimed and started, as the general path', async () => {
    const [fast, general] = [await f.agent(), await f.agent()];
    const input = { reason: 'same', payload: { taskKey: 't' }, actor: { type: 'user' as const, id: 'u1' } };
    const a = (await pipelined({ agentId: fast.id, ...input }))!;
    expect(a).toMatchObject({ outcome: 'queued' });
    // An idempotency key sends a request the general way; it is the only column that differs.
    const b = await wake({ agentId: general.id, ...input, idempotencyKey: 'general' });
    expect(a.claimed?.started).toBeDefined();
    expect(b.claimed?.started).toBeDefined();
    const rows = async (agentId: string) => ({
      run: await f.db.query.heartbeatRuns.findFirst({ where: { agentId } }),
      wake: await f.db.query.wakeupRequests.findFirst({ where: { agentId } }),
      events: await f.db.query.runEvents.findMany({ where: { agentId }, orderBy: { seq: 'asc' }, columns: { seq: true, eventType: true, message: true, payload: true } }),
      agent: await f.db.query.agents.findFirst({ where: { id: agentId }, columns: { status: true } }),
    });
    const [x, y] = [await rows(fast.id), await rows(general.id)];
    expect(comparable(x.run!)).toEqual(comparable(y.run!));
    expect(comparable(x.wake!)).toEqual(comparable(y.wake!));
    expect(x.events).toEqual(y.events);
    expect(x.agent).toEqual({ status: 'running' });
    expect(y.agent).toEqual({ status: 'running' });
    expect(x.run).toMatchObject({ status: 'running', wakeupRequestId: x.wake!.id });
    expect(x.wake).toMatchObject({ status: 'claimed', runId: x.run!.id });
    expect(comparable(a.run!)).toEqual(comparable(b.run!));
  });

  it('hands execution the claimed run as stored', async () => {
    const agent = await f.agent();
    const result = (await pipelined({ agentId: agent.id, payload: { taskKey: 'stored' }, context: { nested: { z: 1, a: [2] } } }))!;
    const stored = await f.db.query.heartbeatRuns.findFirst({ where: { id: result.run!.id } });
    expect(stored).toMatchObject({ status: 'running', logStore: 'postgres', lastEventSeq: 1 });
    // The claim started the run: its row, start columns included (log file, `run started`), is the stored one.
    expect(result.claimed!.run).toEqual(stored);
  });

  it('knows the new run row before the database answers', async () => {
    const agent = await f.agent();
    const values = { id: crypto.randomUUID(), companyId: f.companyId, agentId: agent.id, contextSnapshot: { taskKey: 'x' }, createdAt: new Date(), updatedAt: new Date() };
    const [stored] = await f.db.insert(heartbeatRuns).values(values).returning();
    expect(newRunRow(values)).toEqual(stored);
    expect(() => newRunRow({ ...values, id: undefined })).toThrow(/needs its id/);
  });

  it('without a claim, writes the same queued wakeup and run as the general path', async () => {
    const [fast, general] = [await f.agent(), await f.agent()];
    const input = { reason: 'queued', payload: { taskKey: 'q' } };
    const a = (await pipelined({ agentId: fast.id, ...input }, false))!;
    const b = await enqueueWakeup(f.engine.deps, { companyId: f.companyId, agentId: general.id, ...input, idempotencyKey: 'general' });
    expect(a).toMatchObject({ outcome: 'queued', startAgentId: fast.id });
    expect(a.claimed).toBeUndefined();
    const run = (agentId: string) => f.db.query.heartbeatRuns.findFirst({ where: { agentId } });
    const wake = (agentId: string) => f.db.query.wakeupRequests.findFirst({ where: { agentId } });
    expect(await run(fast.id)).toMatchObject({ status: 'queued' });
    expect(comparable((await run(fast.id))!)).toEqual(comparable((await run(general.id))!));
    expect(comparable((await wake(fast.id))!)).toEqual(comparable((await wake(general.id))!));
    expect(comparable(a.run!)).toEqual(comparable(b.run!));
  });

  it('queues without claiming when the agent has no free slot', async () => {
    const agent = await f.agent({ heartbeat: { maxConcurrentRuns: 1 } });
    const first = await wake({ agentId: agent.id, payload: { taskKey: 'one' } });
    const second = await wake({ agentId: agent.id, payload: { taskKey: 'two' } });
    expect(first.claimed).toBeDefined();
    expect(second).toMatchObject({ outcome: 'queued', startAgentId: agent.id });
    expect(second.claimed).toBeUndefined();
    expect((await f.db.query.heartbeatRuns.findFirst({ where: { id: second.run!.id } }))?.status).toBe('queued');
  });

  it('leaves every other case to the general path, with its answers and rows', async () => {
    const agent = await f.agent();
    await expect(wake({ agentId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(wake({ companyId: '00000000-0000-4000-8000-000000000001', agentId: agent.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const paused = await f.agent({ status: 'paused' });
    await expect(wake({ agentId: paused.id })).rejects.toMatchObject({ code: 'CONFLICT' });

    const quiet = await f.agent({ heartbeat: { wakeOnDemand: false, wakeOnAssignment: false } });
    expect((await wake({ agentId: quiet.id })).wakeupRequest).toMatchObject({ status: 'skipped', reason: 'heartbeat.wakeOnDemand.disabled' });
    const off = await f.agent({ heartbeat: { enabled: false } });
    expect((await wake({ agentId: off.id, source: 'timer' })).wakeupRequest).toMatchObject({ status: 'skipped', reason: 'heartbeat.disabled' });

    // A run of the same scope on its way: the wakeup folds into it.
    const first = await wake({ agentId: agent.id, reason: 'first' });
    const second = await wake({ agentId: agent.id, reason: 'second' });
    expect(second).toMatchObject({ outcome: 'coalesced' });
    expect(second.run!.id).toBe(first.run!.id);

    // The pipelined path itself declines each of them, leaving no row behind.
    const declined = await Promise.all([
      pipelined({ agentId: '00000000-0000-4000-8000-000000000000' }),
      pipelined({ companyId: '00000000-0000-4000-8000-000000000001', agentId: agent.id, payload: { taskKey: 'other' } }),
      pipelined({ agentId: paused.id }),
      pipelined({ agentId: quiet.id }),
      pipelined({ agentId: off.id, source: 'timer' }),
      pipelined({ agentId: agent.id, reason: 'third' }),
      pipelined({ agentId: agent.id, payload: { taskKey: 'keyed' }, idempotencyKey: 'k' }),
    ]);
    expect(declined).toEqual([null, null, null, null, null, null, null]);

    // Nothing was left behind by the requests that went the general way.
    const wakes = await f.db.select().from(wakeupRequests);
    expect(wakes.map((w) => w.status).sort()).toEqual(['claimed', 'coalesced', 'skipped', 'skipped']);
    expect(await f.db.select().from(heartbeatRuns)).toHaveLength(1);
  });
});
