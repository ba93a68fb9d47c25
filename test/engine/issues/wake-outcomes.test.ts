// Issue mutations answer what they actually did: never an error while the change is stored; an
// issue wakeup survives a deadlock with a claim; bad assignee input is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies, heartbeatRuns } from '../../../db/schema.ts';
import { createApiKey } from '../../../engine/access/api-keys.ts';
import type { CanInvokePort } from '../../../engine/model/deps.ts';
import { agentGid, createAgent, createIssue, enqueue, gql, gqlFailure, issueGid, rawId, runGid } from '../../support/api.ts';
import { postgres } from '../../support/pg-client.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

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
  // The one deadlock the lock order (docs/engine.md §6.17) leaves: the wakeup locks the issue's runs,
  // then the issue; a run the issue gains between the two is locked after the issue, and a claim of
  // that run holds the run, then stamps the issue. PostgreSQL aborts one of them; when it is the
  // wakeup, the whole enqueue is tried again.
  it('is tried again once PostgreSQL breaks the deadlock, instead of answering an internal error', async () => {
    const agentId = await createAgent(server, {});
    // A backlog issue is not dispatched, and the run it gains is a retry due in an hour, which the
    // engine leaves alone meanwhile: this test alone takes the locks below.
    const { issueId } = await createIssue(server, { title: 'Contended', status: 'BACKLOG', assigneeAgentId: agentId });
    const sql = postgres(server.database.url);
    const sessions = postgres(server.database.url);
    const other = await sessions.reserve();
    const claim = await sessions.reserve();
    const pidOf = async (session: typeof other) => (await session<{ pid: number }[]>`select pg_backend_pid() as pid`)[0].pid;
    /** The backends of this database that wait for a lock `pid` holds. */
    const waitingFor = async (pid: number) =>
      (await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and ${pid} = any(pg_blocking_pids(pid))`).map((row) => row.pid);
    try {
      const otherPid = await pidOf(other);
      const claimPid = await pidOf(claim);
      // Another transaction holds the issue: the wakeup locks the issue's runs (it has none yet),
      // then waits for the issue.
      await other`begin`;
      await other`select id from issues where id = ${issueId} for no key update`;
      const enqueued = enqueue(server, { agentId, issueId }).catch((error: unknown) => error);
      const [wakeupPid] = await waitFor('the wakeup to wait for the issue, its runs locked', async () => {
        const waiting = await waitingFor(otherPid);
        return waiting.length === 1 ? waiting : null;
      });
      // Meanwhile the issue gains a run, and a claim of that run holds it, then asks for the issue:
      // it queues for the issue behind the wakeup.
      const [retry] = await db()
        .insert(heartbeatRuns)
        .values({ companyId: server.companyId, agentId, issueId, status: 'scheduled_retry', scheduledRetryAt: new Date(Date.now() + 3_600_000), contextSnapshot: { issueId } })
        .returning();
      await claim`begin`;
      // The claim puts off its own deadlock check: the cycle is found from the wakeup's side, and
      // the wakeup is the transaction PostgreSQL aborts.
      await claim`set local deadlock_timeout = '10min'`;
      await claim`select id from heartbeat_runs where id = ${retry.id} for update`;
      let stamp: 'stamped' | unknown = null;
      const stamping = claim`update issues set updated_at = now() where id = ${issueId}`.then(
        () => (stamp = 'stamped'),
        (error: unknown) => (stamp = error),
      );
      await waitFor('the claim to wait for the issue behind the wakeup', async () => (await waitingFor(wakeupPid)).includes(claimPid));

      // The other transaction ends: the wakeup takes the issue and asks for the run the claim holds,
      // while the claim waits for the issue.
      await other`commit`;
      // The claim stamps the issue while it still holds the run: the wakeup's transaction, which held
      // the issue, was aborted.
      await waitFor('PostgreSQL to break the deadlock by aborting the wakeup, letting the claim stamp the issue', () => stamp, { timeoutMs: 30_000 });
      expect(stamp).toBe('stamped');
      // The wakeup is tried again: it waits for the run the claim holds.
      await waitFor('the wakeup to be tried again, waiting for the run the claim holds', async () => (await waitingFor(claimPid)).length > 0);
      await claim`commit`;
      await stamping;
      expect(await enqueued).toMatchObject({ outcome: 'COALESCED', runId: retry.id });
    } finally {
      other.release();
      claim.release();
      await sessions.end({ timeout: 0 });
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
