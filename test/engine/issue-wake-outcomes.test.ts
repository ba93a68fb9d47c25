// Issue mutations answer what they actually did: never an error while the change is stored; an
// issue wakeup survives a deadlock with a claim; bad assignee input is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { companies, heartbeatRuns, issues } from '../../db/schema.ts';
import { createApiKey } from '../../engine/api-keys.ts';
import type { CanInvokePort } from '../../engine/deps.ts';
import { agentGid, createAgent, createIssue, enqueue, gql, gqlFailure, issueGid, rawId, runGid } from '../support/api.ts';
import { postgres } from '../support/pg-client.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let server: TestServer;
// Lets one test refuse every wakeup the way a budget would (the canInvoke port).
let budgetExhausted = false;
const canInvoke: CanInvokePort = {
  check: async () => (budgetExhausted ? { allowed: false, reason: 'Monthly budget exhausted' } : { allowed: true }),
};
beforeAll(async () => {
  server = await startTestServer({ engine: { canInvoke } });
});
afterAll(() => server?.close());

const db = () => server.database.db;
const failure = gqlFailure;
const WAKEUP = 'wakeup { outcome run { id } wakeupRequest { status reason error } }';
const SLOW = { steps: [{ sleepMs: 20_000 }] };

async function pausedAgent(): Promise<string> {
  const agentId = await createAgent(server, {});
  await gql(server, `mutation($id: ID!) { pauseAgent(id: $id) { status } }`, { id: agentGid(agentId) });
  return agentId;
}
const assign = (issueId: string, input: { agentId?: string; userId?: string }) =>
  gql(server, `mutation($input: AssignIssueInput!) { assignIssue(input: $input) { issue { assigneeUserId assigneeAgent { id } } ${WAKEUP} } }`, {
    input: { issueId: issueGid(issueId), agentId: input.agentId ? agentGid(input.agentId) : undefined, userId: input.userId },
  });
const comment = (issueId: string, body: string) =>
  gql(server, `mutation($input: AddIssueCommentInput!) { addIssueComment(input: $input) { comment { id body } ${WAKEUP} } }`, {
    input: { issueId: issueGid(issueId), body },
  });
const runsOf = (agentId: string) => db().query.heartbeatRuns.findMany({ where: { agentId } });
const cancel = (runId: string) => gql(server, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runGid(runId) });

describe('a change to an issue whose agent cannot be woken is stored, and the wakeup says it was skipped', () => {
  const skippedPaused = { outcome: 'SKIPPED', run: null, wakeupRequest: { status: 'SKIPPED', reason: 'agent.not_invokable', error: expect.stringMatching(/paused/) } };

  it('createIssue assigned to a paused agent', async () => {
    const agentId = await pausedAgent();
    const data = await gql(server, `mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { id assigneeAgent { id } } ${WAKEUP} } }`, {
      input: { title: 'For later', assigneeAgentId: agentGid(agentId) },
    });
    expect(data.createIssue.issue.assigneeAgent.id).toBe(agentGid(agentId));
    expect(data.createIssue.wakeup).toMatchObject(skippedPaused);
    expect(await db().query.issues.findFirst({ where: { id: rawId(data.createIssue.issue.id) } })).toMatchObject({ assigneeAgentId: agentId });
    expect(await runsOf(agentId)).toEqual([]);
  });

  it('assignIssue to a paused agent', async () => {
    const agentId = await pausedAgent();
    const { issueId } = await createIssue(server, { title: 'Assign me' });
    const data = await assign(issueId, { agentId });
    expect(data.assignIssue.issue.assigneeAgent.id).toBe(agentGid(agentId));
    expect(data.assignIssue.wakeup).toMatchObject(skippedPaused);
    expect(await runsOf(agentId)).toEqual([]);
  });

  it('addIssueComment on an issue whose assignee is paused, also when the comment reopens it', async () => {
    const agentId = await pausedAgent();
    const { issueId } = await createIssue(server, { title: 'Done already', status: 'DONE', assigneeAgentId: agentId });
    const data = await comment(issueId, 'Please look again');
    expect(data.addIssueComment.comment.body).toBe('Please look again');
    expect(data.addIssueComment.wakeup).toMatchObject(skippedPaused);
    expect(await db().query.issueComments.findMany({ where: { issueId } })).toHaveLength(1);
    expect((await db().query.issues.findFirst({ where: { id: issueId } }))!.status).toBe('todo');
    expect(await runsOf(agentId)).toEqual([]);
  });

  it('a budget refusal answers with the one skipped `budget.blocked` wakeup it recorded', async () => {
    const agentId = await createAgent(server, {});
    budgetExhausted = true;
    try {
      const { issueId } = await createIssue(server, { title: 'Over budget' });
      const data = await assign(issueId, { agentId });
      expect(data.assignIssue.wakeup).toMatchObject({ outcome: 'SKIPPED', wakeupRequest: { status: 'SKIPPED', reason: 'budget.blocked' } });
      expect(await db().query.wakeupRequests.findMany({ where: { agentId } })).toHaveLength(1);
    } finally {
      budgetExhausted = false;
    }
  });
});

describe('an issue wakeup that meets a claim taking the same locks in the other order', () => {
  it('is tried again once PostgreSQL breaks the deadlock, instead of answering an internal error', async () => {
    const agentId = await createAgent(server, {});
    // A backlog issue is not dispatched; its lock is held by a retry due in an hour, which the
    // engine leaves alone meanwhile: this test alone takes the locks below.
    const { issueId } = await createIssue(server, { title: 'Contended', status: 'BACKLOG', assigneeAgentId: agentId });
    const [retry] = await db()
      .insert(heartbeatRuns)
      .values({ companyId: server.companyId, agentId, issueId, status: 'scheduled_retry', scheduledRetryAt: new Date(Date.now() + 3_600_000), contextSnapshot: { issueId } })
      .returning();
    await db().update(issues).set({ executionRunId: retry.id }).where(eq(issues.id, issueId));
    const sql = postgres(server.database.url);
    try {
      let enqueued: Promise<unknown> = Promise.resolve();
      await sql.begin(async (tx) => {
        // What a claim does: its run's row first, then the issue's.
        await tx`select id from heartbeat_runs where id = ${retry.id} for update`;
        enqueued = enqueue(server, { agentId, issueId }).catch((error: unknown) => error);
        await waitFor('the wakeup to wait for the run row, holding the issue', async () => {
          const [row] = await sql`select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
            where a.datname = current_database() and not l.granted and a.pid <> ${(await tx`select pg_backend_pid() as pid`)[0].pid}`;
          return row.n > 0;
        });
        await tx`update issues set updated_at = now() where id = ${issueId}`;
      });
      expect(await enqueued).toMatchObject({ outcome: 'COALESCED', runId: retry.id });
    } finally {
      await sql.end();
    }
  });
});

describe('assignIssue validates userId', () => {
  it('refuses an empty, blank or oversized userId with BAD_USER_INPUT and changes nothing; trims a good one', async () => {
    const agentId = await createAgent(server, { adapterConfig: SLOW });
    const { issueId, wakeup } = await createIssue(server, { title: 'Keep me', assigneeAgentId: agentId });
    try {
      for (const userId of ['', '   ', 'u'.repeat(201), 'x'.repeat(300_000)]) {
        const error = await failure(assign(issueId, { userId }));
        expect(error.code, `userId of length ${userId.length}`).toBe('BAD_USER_INPUT');
        expect(error.message).toMatch(/userId/);
      }
      expect(await db().query.issues.findFirst({ where: { id: issueId } })).toMatchObject({ assigneeAgentId: agentId, assigneeUserId: null });
      const data = await assign(issueId, { userId: '  alice  ' });
      expect(data.assignIssue.issue).toEqual({ assigneeUserId: 'alice', assigneeAgent: null });
    } finally {
      if (wakeup?.run) await cancel(rawId(wakeup.run.id));
    }
  });
});
