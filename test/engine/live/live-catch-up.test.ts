// The catch-up after a gap in live signals (engine/live/live-catch-up.ts): the runs of the asked
// companies changed since a moment, oldest change first, each with its state as it is now.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, companies, heartbeatRuns } from '../../../db/schema.ts';
import { changedRunSignals } from '../../../engine/live/live-catch-up.ts';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';

describe('changedRunSignals', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it("announces only the asked companies' runs changed since the moment, oldest change first, with their state", async () => {
    const [mine, other] = await db.db.insert(companies).values([{ name: 'mine' }, { name: 'other' }]).returning();
    const [agent, otherAgent] = await db.db
      .insert(agents)
      .values([
        { companyId: mine.id, name: 'a', adapterType: 'script' },
        { companyId: other.id, name: 'b', adapterType: 'script' },
      ])
      .returning();
    const since = new Date('2026-01-01T12:00:00Z');
    const at = (seconds: number) => new Date(since.getTime() + seconds * 1000);
    const [before, later, first, foreign] = await db.db
      .insert(heartbeatRuns)
      .values([
        { companyId: mine.id, agentId: agent.id, status: 'succeeded', updatedAt: at(-1) },
        { companyId: mine.id, agentId: agent.id, status: 'running', startedAt: at(1), updatedAt: at(5) },
        { companyId: mine.id, agentId: agent.id, status: 'failed', error: 'boom', updatedAt: at(0) },
        { companyId: other.id, agentId: otherAgent.id, status: 'queued', updatedAt: at(3) },
      ])
      .returning();

    const { signals, truncated } = await changedRunSignals(db.db, [mine.id], since);
    expect(truncated).toBe(false);
    expect(signals.map((s) => s.kind === 'run' && s.runId)).toEqual([first.id, later.id]);
    expect(signals.map((s) => s.kind === 'run' && s.runId)).not.toContain(before.id);
    expect(signals.map((s) => s.kind === 'run' && s.runId)).not.toContain(foreign.id);
    expect(signals[0]).toMatchObject({ kind: 'run', companyId: mine.id, agentId: agent.id, issueId: null, state: { status: 'failed', error: 'boom' } });
    expect(signals[1]).toMatchObject({ state: { status: 'running', startedAt: at(1).toISOString(), updatedAt: at(5).toISOString() } });

    expect((await changedRunSignals(db.db, [], since)).signals).toEqual([]);
    expect((await changedRunSignals(db.db, [mine.id, other.id], since)).signals).toHaveLength(3);
  });
});
