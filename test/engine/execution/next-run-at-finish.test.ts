// A finished run no longer counts against its agent's limit (docs/engine.md §6.4 step 8): the
// agent's next run is claimed once the finish commits, while the finished run's follow-up is still
// being written, not after it. (The runs here leave no comment on their issue, so their follow-up is
// written after the finish; a run that commented has it written by its finish, follow-up-in-finish.test.ts.)
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueDocuments } from '../../../db/schema.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { holdRows } from '../../support/row-lock.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

describe("an agent's next run", () => {
  it("is claimed and run while the previous run's follow-up waits", async () => {
    const agent = await f.agent({ heartbeat: { maxConcurrentRuns: 1 }, adapterConfig: { steps: [] } });
    const [first, second] = [await f.issue({ assigneeAgentId: agent.id }), await f.issue({ assigneeAgentId: agent.id })];
    const runA = await f.run({ agentId: agent.id, issueId: first.id, createdAt: new Date('2025-12-31T23:00:00.000Z') });
    const runB = await f.run({ agentId: agent.id, issueId: second.id });
    // The follow-up of the first run ends with its issue's continuation summary (§16): holding that
    // document's row holds the follow-up there, after the finish, without touching anything the
    // claim, the run or its finish need.
    await f.db.insert(issueDocuments).values({ companyId: f.companyId, issueId: first.id, key: 'continuation-summary', body: 'Earlier.', revisionCount: 1 });
    const held = await holdRows(f.db, sql`select id from issue_documents where issue_id = ${first.id} for update`);
    const rowOf = async (id: string) => (await f.db.query.heartbeatRuns.findFirst({ where: { id }, columns: { status: true, finishedAt: true, settledAt: true } }))!;

    let b: Awaited<ReturnType<typeof rowOf>>;
    try {
      await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
      await f.engine.startNext(agent.id);
      // The first run finishes and its follow-up waits on the held document; the second, claimed at
      // that finish, runs to its end meanwhile.
      b = await waitFor('the second run to be settled', async () => {
        const row = await rowOf(runB.id);
        return row.settledAt ? row : null;
      });
      expect(b.status).toBe('succeeded');
      const a = await rowOf(runA.id);
      expect(a.status).toBe('succeeded');
      expect(a.settledAt).toBeNull();
    } finally {
      // Let go of the document whatever happened, so that a failure does not leave the follow-up hanging.
      await held.release();
    }
    const settledA = await waitFor('the first run to be settled', async () => {
      const row = await rowOf(runA.id);
      return row.settledAt ? row : null;
    });
    expect(settledA.settledAt!.getTime()).toBeGreaterThanOrEqual(b.finishedAt!.getTime());
  });
});
