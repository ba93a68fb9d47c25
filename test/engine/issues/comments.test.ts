// The comment write (issues/comment-write.ts), one statement for a person's comment and a run's:
// what it stores, the reopening a person's comment causes, and a detached run whose comment clears
// its warning in the same transaction (§6.11-D); comments written together, by one statement, each
// answered as if it were alone.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns, runEvents } from '../../../db/schema.ts';
import { type CommentWrite, writeIssueComments } from '../../../engine/issues/comment-write.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeAll(async () => {
  f = await engineFixture();
});
afterAll(() => f?.close());

const commentsOf = (issueId: string) => f.db.query.issueComments.findMany({ where: { issueId }, orderBy: { createdAt: 'asc' } });

describe('a comment', () => {
  it('by a run is stored as its evidence, with its agent, and wakes nobody', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id, status: 'in_progress' });
    const run = await f.run({ agentId: agent.id, issueId: issue.id, status: 'running' });
    const { comment, wakeup } = await f.engine.issues.addComment({ companyId: f.companyId, issueId: issue.id, body: '  Done: tests pass  ' }, { type: 'run', run });
    expect(wakeup).toBeNull();
    expect(comment).toMatchObject({ issueId: issue.id, companyId: f.companyId, body: 'Done: tests pass', authorAgentId: agent.id, authorUserId: null, createdByRunId: run.id });
    expect(comment.createdAt).toBeInstanceOf(Date);
    expect(await commentsOf(issue.id)).toEqual([comment]);
    expect(await f.db.query.heartbeatRuns.findMany({ where: { agentId: agent.id } })).toHaveLength(1);
  });

  it('by a person on a resolved assigned issue reopens it and wakes the assignee', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id, status: 'done' });
    const { comment, wakeup } = await f.engine.issues.addComment({ companyId: f.companyId, issueId: issue.id, body: 'Not fixed yet' }, { type: 'user', id: 'ana' });
    expect(comment).toMatchObject({ authorUserId: 'ana', authorAgentId: null, createdByRunId: null });
    expect(wakeup).toMatchObject({ outcome: 'queued' });
    expect(wakeup!.wakeupRequest.reason).toBe('issue_reopened_via_comment');
    expect(await f.db.query.issues.findFirst({ where: { id: issue.id } })).toMatchObject({ status: 'todo', executionState: null });
  });

  it('by a person on an unassigned resolved issue leaves it resolved and wakes nobody', async () => {
    const issue = await f.issue({ status: 'done' });
    const { wakeup } = await f.engine.issues.addComment({ companyId: f.companyId, issueId: issue.id, body: 'FYI' }, { type: 'user', id: null });
    expect(wakeup).toBeNull();
    expect(await f.db.query.issues.findFirst({ where: { id: issue.id } })).toMatchObject({ status: 'done' });
    expect(await commentsOf(issue.id)).toHaveLength(1);
  });

  it('on an issue of another company, or none, is NOT_FOUND and stores nothing', async () => {
    const issue = await f.issue();
    const other = '00000000-0000-4000-8000-000000000001';
    for (const input of [{ companyId: other, issueId: issue.id }, { companyId: f.companyId, issueId: other }]) {
      const error = await f.engine.issues.addComment({ ...input, body: 'hello' }, { type: 'user', id: null }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HeartbeatError);
      expect((error as HeartbeatError).code).toBe('NOT_FOUND');
    }
    expect(await commentsOf(issue.id)).toEqual([]);
  });

  it('by a run flagged detached clears the warning, with an event, and is stored', async () => {
    const agent = await f.agent();
    const issue = await f.issue({ assigneeAgentId: agent.id, status: 'in_progress' });
    const run = await f.run({ agentId: agent.id, issueId: issue.id, status: 'running' });
    await f.db
      .update(heartbeatRuns)
      .set({ errorCode: 'process_detached', error: 'Lost in-memory process handle, but child pid 123 is still alive' })
      .where(eq(heartbeatRuns.id, run.id));
    const { comment } = await f.engine.issues.addComment({ companyId: f.companyId, issueId: issue.id, body: 'still here' }, { type: 'run', run });
    expect(await commentsOf(issue.id)).toEqual([comment]);
    expect(await f.db.query.heartbeatRuns.findFirst({ where: { id: run.id } })).toMatchObject({ status: 'running', errorCode: null, error: null });
    const events = await f.db.select().from(runEvents).where(eq(runEvents.runId, run.id));
    expect(events.map((e) => e.message)).toEqual(['Run reported activity again; the detached warning is cleared']);
  });
});

describe('comments written together', () => {
  it('are one statement with an answer per comment, in order: stored, not found, held by a detached run; a resolved issue reopens once', async () => {
    const agent = await f.agent();
    const resolved = await f.issue({ assigneeAgentId: agent.id, status: 'done' });
    const working = await f.issue({ assigneeAgentId: agent.id, status: 'in_progress' });
    const run = await f.run({ agentId: agent.id, issueId: working.id, status: 'running' });
    const detached = await f.run({ agentId: agent.id, issueId: working.id, status: 'running' });
    await f.db.update(heartbeatRuns).set({ errorCode: 'process_detached' }).where(eq(heartbeatRuns.id, detached.id));
    const now = new Date('2026-01-02T03:04:05.000Z');
    const person = (body: string): CommentWrite => ({ companyId: f.companyId, issueId: resolved.id, body, byPerson: true, authorUserId: 'ana', authorAgentId: null, runId: null, now });
    const byRun = (runId: string, body: string): CommentWrite => ({ companyId: f.companyId, issueId: working.id, body, byPerson: false, authorUserId: null, authorAgentId: agent.id, runId, now });
    const answers = await writeIssueComments(f.db, [
      person('first'),
      byRun(run.id, 'progress'),
      { ...person('elsewhere'), companyId: '00000000-0000-4000-8000-000000000001' },
      byRun(detached.id, 'held'),
      person('second'),
    ]);
    expect(answers.map((a) => a.outcome)).toEqual(['written', 'written', 'issue_not_found', 'run_flagged_detached', 'written']);
    const [first, progress, , , second] = answers as Array<Extract<(typeof answers)[number], { outcome: 'written' }>>;
    expect(first).toMatchObject({ reopened: true, assigneeAgentId: agent.id, comment: { body: 'first', authorUserId: 'ana', issueId: resolved.id } });
    expect(second).toMatchObject({ reopened: false, comment: { body: 'second' } });
    expect(progress).toMatchObject({ reopened: false, comment: { body: 'progress', createdByRunId: run.id, authorAgentId: agent.id } });
    expect((await commentsOf(resolved.id)).map((c) => c.body).sort()).toEqual(['first', 'second']);
    expect((await commentsOf(working.id)).map((c) => c.body)).toEqual(['progress']);
    expect(await f.db.query.issues.findFirst({ where: { id: resolved.id } })).toMatchObject({ status: 'todo' });
  });

  it('through the engine at the same moment are each answered as alone, and a bad one fails alone', async () => {
    const agent = await f.agent();
    const issues = await Promise.all(Array.from({ length: 6 }, () => f.issue({ assigneeAgentId: agent.id, status: 'in_progress' })));
    const runs = await Promise.all(issues.map((issue) => f.run({ agentId: agent.id, issueId: issue.id, status: 'running' })));
    const missing = '00000000-0000-4000-8000-000000000002';
    const settled = await Promise.allSettled([
      ...runs.map((run, i) => f.engine.issues.addComment({ companyId: f.companyId, issueId: issues[i].id, body: `run ${i}` }, { type: 'run', run })),
      f.engine.issues.addComment({ companyId: f.companyId, issueId: missing, body: 'lost' }, { type: 'user', id: null }),
    ]);
    expect(settled.slice(0, 6).map((s) => s.status)).toEqual(Array(6).fill('fulfilled'));
    expect(settled[6]).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
    for (const [i, issue] of issues.entries()) {
      expect((await commentsOf(issue.id)).map((c) => [c.body, c.createdByRunId])).toEqual([[`run ${i}`, runs[i].id]]);
    }
  });
});
