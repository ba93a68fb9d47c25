// A claim skips queued runs another transaction holds (docs/engine.md §6.2). The holder may be a
// write that only annotates the run and never claims after its commit: the engine then claims for
// the agent again by itself, without a tick (the fixture's engine has none) or another wakeup.
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { holdRows } from '../../support/row-lock.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
  await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
});
afterEach(() => f.close());

describe('a claim that skipped a held run', () => {
  it('claims it once its holder commits, with nothing else waking the agent', async () => {
    const agent = await f.agent({ adapterConfig: { steps: [{ result: {}, summary: 'done' }] } });
    const run = await f.run({ agentId: agent.id });
    const statusOf = async () => (await f.db.query.heartbeatRuns.findFirst({ where: { id: run.id }, columns: { status: true, settledAt: true } }))!;

    const held = await holdRows(f.db, sql`select id from heartbeat_runs where id = ${run.id} for update`);

    // The claim round ends without the run: another transaction holds it.
    await f.engine.startNext(agent.id);
    expect((await statusOf()).status).toBe('queued');

    await held.release();
    const settled = await waitFor('the skipped run to be claimed and run to its end', async () => {
      const row = await statusOf();
      return row.settledAt ? row : null;
    });
    expect(settled.status).toBe('succeeded');
  });
});
