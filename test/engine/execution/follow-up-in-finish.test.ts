// The common run on an issue (docs/engine.md §6.4 step 8): it succeeded, commented on its issue,
// spent nothing and nothing may continue it. Its finish writes its follow-up (the release, with the
// promotion of a wakeup deferred behind it, and the continuation summary) in the same transaction
// and settles it there: the run is never seen finished and unsettled, and the run its release
// promoted is started.
import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueComments, issueDocuments, issues, wakeupRequests } from '../../../db/schema.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { holdRows } from '../../support/row-lock.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
beforeEach(async () => {
  // The fixture's engine has no periodic pass: the promoted run is started by the release's answer alone.
  f = await engineFixture();
});
afterEach(() => f.close());

describe('a run on an issue that succeeded and commented', () => {
  it('is finished, released and settled in one transaction, and the wakeup deferred behind it runs', async () => {
    const assignee = await f.agent({ name: 'Assignee', adapterConfig: { steps: [{ comment: 'Done.' }] } });
    const other = await f.agent({ name: 'Other', adapterConfig: { steps: [] } });
    const issue = await f.issue({ assigneeAgentId: assignee.id });
    const run = await f.run({ agentId: assignee.id, issueId: issue.id });
    await f.db.update(issues).set({ executionRunId: run.id, executionAgentNameKey: 'assignee', executionLockedAt: f.clock.now() }).where(eq(issues.id, issue.id));
    // A person's comment for another agent that came while the run was on its way: deferred behind
    // it (§6.3 step 3e), an interaction the other agent may answer without being the assignee.
    const [deferred] = await f.db
      .insert(wakeupRequests)
      .values({
        companyId: f.companyId,
        agentId: other.id,
        source: 'automation',
        reason: 'issue_commented',
        status: 'deferred_issue_execution',
        payload: { issueId: issue.id, commentId: 'c1', _deferredWakeContext: { issueId: issue.id, wakeReason: 'issue_commented', commentId: 'c1' } },
        requestedByActorType: 'user',
        requestedByActorId: 'u',
      })
      .returning();
    // The follow-up ends with the issue's continuation summary (§16): holding that document's row
    // holds the follow-up there. Written by the finish, it holds the finish too.
    await f.db.insert(issueDocuments).values({ companyId: f.companyId, issueId: issue.id, key: 'continuation-summary', body: 'Earlier.', revisionCount: 1 });
    const held = await holdRows(f.db, sql`select id from issue_documents where issue_id = ${issue.id} for update`);
    const rowOf = async (id: string) => (await f.db.query.heartbeatRuns.findFirst({ where: { id } }))!;
    try {
      await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
      await f.engine.startNext(assignee.id);
      // The run's comment is written, then its finish waits on the held document.
      await waitFor('the finish to wait on the continuation summary', async () => {
        const commented = await f.db.select().from(issueComments).where(eq(issueComments.createdByRunId, run.id));
        const [waiting] = await f.db.execute<{ n: number }>(sql`select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()`);
        return commented.length > 0 && Number(waiting.n) > 0 ? true : null;
      });
      // Nothing of the finish is visible while its follow-up waits: it is one transaction.
      expect(await rowOf(run.id)).toMatchObject({ status: 'running', settledAt: null });
      expect((await f.db.query.issues.findFirst({ where: { id: issue.id } }))!.executionRunId).toBe(run.id);
    } finally {
      await held.release();
    }
    const settled = await waitFor('the run to be settled', async () => {
      const row = await rowOf(run.id);
      return row.settledAt ? row : null;
    });
    const [comment] = await f.db.select().from(issueComments).where(eq(issueComments.createdByRunId, run.id));
    expect(settled).toMatchObject({ status: 'succeeded', livenessState: 'advanced', issueCommentStatus: 'satisfied', issueCommentSatisfiedByCommentId: comment.id });
    expect(settled.settledAt!.getTime()).toBe(settled.finishedAt!.getTime());
    const summary = await f.db.query.issueDocuments.findFirst({ where: { issueId: issue.id, key: 'continuation-summary' } });
    expect(summary!.revisionCount).toBe(2);
    // The deferred wakeup became the issue's next run, which the engine started and finished.
    const wake = await waitFor('the promoted run to be settled', async () => {
      const row = await f.db.query.wakeupRequests.findFirst({ where: { id: deferred.id } });
      if (!row?.runId) return null;
      return (await rowOf(row.runId)).settledAt ? row : null;
    });
    expect(wake.reason).toBe('issue_execution_promoted');
    expect(await rowOf(wake.runId!)).toMatchObject({ agentId: other.id, issueId: issue.id, status: 'succeeded' });
    // Told in the order a follow-up of its own would tell it: the outcome, the release, then the settle.
    const seen = f.published.map((event, i) => ({ event, i }));
    const outcome = seen.find(({ event }) => event.type === 'heartbeat.run.status' && event.runId === run.id && event.status === 'succeeded' && event.state.settledAt === null);
    const releasedLock = seen.find(({ event }) => event.type === 'issue.lock' && event.issueId === issue.id && event.executionRunId === null);
    const settle = seen.find(({ event }) => event.type === 'heartbeat.run.status' && event.runId === run.id && event.state.settledAt !== null);
    expect(outcome!.i).toBeLessThan(releasedLock!.i);
    expect(releasedLock!.i).toBeLessThan(settle!.i);
  });
});
