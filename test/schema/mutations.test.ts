// The GraphQL mutations that drive the engine: what they do, and how they refuse bad input
// (typed error, stable code, nothing changed).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { agentGid, createAgent, createIssue, enqueue, gql, gqlFailure, issueGid, rawId, runFinished } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const db = () => server.database.db;
const failure = gqlFailure;
const finished = (runId: string) => runFinished(server, runId);

describe('agents', () => {
  it('createAgent validates the adapter config and the heartbeat policy, storing nothing on error', async () => {
    const before = (await db().query.agents.findMany()).length;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'p', adapterType: 'PROCESS', adapterConfig: {} }, /adapterConfig\.command/],
      [{ name: 'p', adapterType: 'PROCESS', adapterConfig: { command: 'x', timeoutSec: -1 } }, /timeoutSec/],
      [{ name: 'h', adapterType: 'HTTP', adapterConfig: { url: 'not a url' } }, /url/],
      [{ name: 's', adapterType: 'SCRIPT', adapterConfig: { steps: [{ bogus: 1 }] } }, /steps/],
      [{ name: 's', adapterType: 'SCRIPT', adapterConfig: { steps: [] }, heartbeat: { intervalSec: -5 } }, /heartbeat\.intervalSec/],
      [{ name: 's', adapterType: 'SCRIPT', adapterConfig: { steps: [] }, heartbeat: { maxConcurrentRuns: 0 } }, /heartbeat\.maxConcurrentRuns/],
      [{ name: 's', adapterType: 'SCRIPT', adapterConfig: { steps: [] }, heartbeat: { maxConcurrentRuns: 11 } }, /heartbeat\.maxConcurrentRuns/],
      [{ name: '   ', adapterType: 'SCRIPT', adapterConfig: { steps: [] } }, /name/],
      [{ name: 'x'.repeat(201), adapterType: 'SCRIPT', adapterConfig: { steps: [] } }, /name/],
    ];
    for (const [input, message] of cases) {
      const error = await failure(gql(server, `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`, { input }));
      expect(error.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(error.message).toMatch(message);
    }
    expect(await db().query.agents.findMany()).toHaveLength(before);
  });

  it('updateAgent changes policy and config; pause and resume', async () => {
    const agentId = await createAgent(server, { name: 'Changer' });
    const updated = await gql(server, `mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { name role } }`, {
      input: { id: agentGid(agentId), name: 'Renamed', role: 'reviewer', heartbeat: { enabled: true, intervalSec: 30, maxConcurrentRuns: 2 } },
    });
    expect(updated.updateAgent).toEqual({ name: 'Renamed', role: 'reviewer' });
    const row = await db().query.agents.findFirst({ where: { id: agentId } });
    expect(row!.runtimeConfig).toEqual({ heartbeat: { enabled: true, intervalSec: 30, maxConcurrentRuns: 2 } });
    const bad = await failure(gql(server, `mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { name } }`, { input: { id: agentGid(agentId), adapterType: 'PROCESS' } }));
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect((await gql(server, `mutation($id: ID!) { pauseAgent(id: $id) { status } }`, { id: agentGid(agentId) })).pauseAgent.status).toBe('PAUSED');
    const refused = await failure(enqueue(server, { agentId }));
    expect(refused.code).toBe('CONFLICT');
    expect((await gql(server, `mutation($id: ID!) { resumeAgent(id: $id) { status } }`, { id: agentGid(agentId) })).resumeAgent.status).toBe('IDLE');
  });
});

describe('enqueueWakeup', () => {
  it('refuses unknown and foreign agents, foreign issues and oversized or non-object payloads', async () => {
    const [other] = await db().insert(companies).values({ name: 'Other' }).returning();
    const otherKey = await createApiKey(db(), { companyId: other.id, name: 'other' });
    const agentId = await createAgent(server, {});
    const { issueId } = await createIssue(server, { title: 'Mine' });
    const before = (await db().query.wakeupRequests.findMany()).length;

    expect((await failure(enqueue(server, { agentId: '00000000-0000-4000-8000-000000000000' }))).code).toBe('NOT_FOUND');
    // Another company's key sees neither the agent nor the issue.
    const foreign = await failure(gql(server, `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome } }`, { input: { agentId: agentGid(agentId) } }, otherKey.key));
    expect(foreign.code).toBe('NOT_FOUND');
    const foreignIssue = await enqueue(server, { agentId, issueId: '00000000-0000-4000-8000-000000000000' });
    expect(foreignIssue.outcome).toBe('SKIPPED');
    expect(foreignIssue.wakeupRequest.reason).toBe('issue_execution_issue_not_found');
    expect((await failure(enqueue(server, { agentId, payload: { big: 'x'.repeat(70_000) } }))).code).toBe('BAD_USER_INPUT');
    expect((await failure(enqueue(server, { agentId, payload: [1, 2] }))).code).toBe('BAD_USER_INPUT');
    expect((await failure(enqueue(server, { agentId, reason: 'r'.repeat(201) }))).code).toBe('BAD_USER_INPUT');
    expect(await db().query.wakeupRequests.findMany()).toHaveLength(before + 1); // only the skipped row
    expect(issueId).toBeDefined();
  });

  it("wakes an agent by its name, whatever its case; one of agentId and agentName, and a name only in the key's company", async () => {
    const [other] = await db().insert(companies).values({ name: 'Other by name' }).returning();
    const otherKey = await createApiKey(db(), { companyId: other.id, name: 'other' });
    const agentId = await createAgent(server, { name: 'Wake-By-Name' });
    const wake = (input: Record<string, unknown>, key?: string) =>
      gql<{ enqueueWakeup: { outcome: string; run: { id: string; agent: { id: string } } | null } }>(
        server,
        `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome run { id agent { id } } } }`,
        { input },
        key,
      );
    const before = (await db().query.wakeupRequests.findMany()).length;
    const refusals: Array<[Record<string, unknown>, string, string, string?]> = [
      [{ agentName: 'no such agent' }, 'NOT_FOUND', 'agentName'],
      [{}, 'BAD_USER_INPUT', 'agentId'],
      [{ agentId: agentGid(agentId), agentName: 'Wake-By-Name' }, 'BAD_USER_INPUT', 'agentName'],
      // Another company's key does not find it by name either.
      [{ agentName: 'Wake-By-Name' }, 'NOT_FOUND', 'agentName', otherKey.key],
    ];
    for (const [input, code, field, key] of refusals) {
      const error = await failure(wake(input, key));
      expect([error.code, error.errors[0].extensions?.field], JSON.stringify(input)).toEqual([code, field]);
    }
    expect(await db().query.wakeupRequests.findMany()).toHaveLength(before);

    const woken = await wake({ agentName: 'wake-by-name', reason: 'by name' });
    expect(woken.enqueueWakeup.outcome).toBe('QUEUED');
    expect(woken.enqueueWakeup.run?.agent.id).toBe(agentGid(agentId));
    await finished(rawId(woken.enqueueWakeup.run!.id));
  });

  it('answers DUPLICATE for a reused idempotency key', async () => {
    const agentId = await createAgent(server, {});
    const first = await enqueue(server, { agentId, idempotencyKey: 'deploy-42' });
    const second = await enqueue(server, { agentId, idempotencyKey: 'deploy-42' });
    expect([first.outcome, second.outcome]).toEqual(['QUEUED', 'DUPLICATE']);
    expect(second.wakeupRequest.id).toBe(first.wakeupRequest.id);
    expect(second.run?.id).toBe(first.run?.id);
  });

  it('a viewer key may read but not wake', async () => {
    const viewer = await createApiKey(db(), { companyId: server.companyId, name: 'viewer', role: 'viewer' });
    const agentId = await createAgent(server, {});
    const error = await failure(gql(server, `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome } }`, { input: { agentId: agentGid(agentId) } }, viewer.key));
    expect(error.code).toBe('FORBIDDEN');
  });
});

describe('issues', () => {
  it('assignIssue wakes the assignee with source assignment and reason issue_assigned', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ result: { ok: true }, summary: 'Looked at it' }] } });
    const { issueId } = await createIssue(server, { title: 'Unassigned' });
    const data = await gql(server, `mutation($input: AssignIssueInput!) { assignIssue(input: $input) {
      issue { assigneeAgent { id } } wakeup { outcome run { id invocationSource } wakeupRequest { reason source } } } }`, {
      input: { issueId: issueGid(issueId), agentId: agentGid(agentId) },
    });
    expect(data.assignIssue.issue.assigneeAgent.id).toBe(agentGid(agentId));
    expect(data.assignIssue.wakeup).toMatchObject({ outcome: 'QUEUED', run: { invocationSource: 'ASSIGNMENT' }, wakeupRequest: { reason: 'issue_assigned', source: 'ASSIGNMENT' } });
    const run = await finished(rawId(data.assignIssue.wakeup.run.id));
    expect(run.status).toBe('succeeded');
    // Auto-checkout moved the issue to in_progress; the run's summary became its comment; the lock is released.
    await waitFor('the release after the run', async () => (await db().query.issues.findFirst({ where: { id: issueId } }))?.executionRunId === null);
    const issue = await db().query.issues.findFirst({ where: { id: issueId } });
    expect(issue).toMatchObject({ status: 'in_progress', checkoutRunId: run.id, executionRunId: null });
    const comments = await db().query.issueComments.findMany({ where: { issueId } });
    expect(comments.map((c) => [c.body, c.createdByRunId])).toEqual([['Looked at it', run.id]]);
  });

  it("addIssueComment from a person wakes the assignee with issue_commented and the comment's id", async () => {
    // The agent answers on its issue, so its first run needs no follow-up.
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ comment: 'On it' }] } });
    const { issueId, wakeup } = await createIssue(server, { title: 'Talk', assigneeAgentId: agentId });
    await waitFor('the first run to settle', async () => (await db().query.heartbeatRuns.findFirst({ where: { id: rawId(wakeup!.run!.id) } }))?.settledAt);
    const data = await gql(server, `mutation($input: AddIssueCommentInput!) { addIssueComment(input: $input) {
      comment { id body } wakeup { outcome run { id } wakeupRequest { reason payload } } } }`, {
      input: { issueId: issueGid(issueId), body: 'Please also update the docs' },
    });
    const commentId = rawId(data.addIssueComment.comment.id);
    expect(data.addIssueComment.wakeup).toMatchObject({ outcome: 'QUEUED', wakeupRequest: { reason: 'issue_commented', payload: { issueId, commentId } } });
    const run = await db().query.heartbeatRuns.findFirst({ where: { id: rawId(data.addIssueComment.wakeup.run.id) } });
    expect(run!.contextSnapshot).toMatchObject({ wakeReason: 'issue_commented', commentId, wakeCommentIds: [commentId] });
  });

  it('putIssueDocument revises; addIssueBlocker refuses self-blocks and cycles; unknown ids are NOT_FOUND', async () => {
    const { issueId: a } = await createIssue(server, { title: 'A' });
    const { issueId: b } = await createIssue(server, { title: 'B' });
    const put = (body: string, key = 'plan') =>
      gql(server, `mutation($input: PutIssueDocumentInput!) { putIssueDocument(input: $input) { key body revisionCount } }`, { input: { issueId: issueGid(a), key, body } });
    await put('v1');
    expect((await put('v2')).putIssueDocument).toEqual({ key: 'plan', body: 'v2', revisionCount: 2 });
    expect((await failure(put('x', 'not a key!'))).code).toBe('BAD_USER_INPUT');

    const block = (issueId: string, blockerIssueId: string) =>
      gql(server, `mutation($input: AddIssueBlockerInput!) { addIssueBlocker(input: $input) { blockers { id } } }`, { input: { issueId: issueGid(issueId), blockerIssueId: issueGid(blockerIssueId) } });
    expect((await block(a, b)).addIssueBlocker.blockers).toEqual([{ id: issueGid(b) }]);
    expect((await failure(block(a, a))).code).toBe('BAD_USER_INPUT');
    expect((await failure(block(b, a))).code).toBe('CONFLICT');
    expect((await failure(block(a, '00000000-0000-4000-8000-000000000000'))).code).toBe('NOT_FOUND');
    const created = await failure(createIssue(server, { title: 'x', assigneeAgentId: '00000000-0000-4000-8000-000000000000' }));
    expect(created.code).toBe('NOT_FOUND');
    expect((await failure(createIssue(server, { title: ' ' }))).code).toBe('BAD_USER_INPUT');
  });

  it("resolving the last blocker wakes the blocked issue's assignee", async () => {
    const agentId = await createAgent(server, {});
    const { issueId: blocker } = await createIssue(server, { title: 'First' });
    const { issueId: blocked } = await createIssue(server, { title: 'Then', status: 'BACKLOG' });
    await gql(server, `mutation($input: AddIssueBlockerInput!) { addIssueBlocker(input: $input) { id } }`, { input: { issueId: issueGid(blocked), blockerIssueId: issueGid(blocker) } });
    const assigned = await gql(server, `mutation($input: UpdateIssueInput!) { updateIssue(input: $input) { status } }`, { input: { id: issueGid(blocked), status: 'TODO' } });
    expect(assigned.updateIssue.status).toBe('TODO');
    const skipped = await enqueue(server, { agentId, issueId: blocked });
    expect(skipped.wakeupRequest.reason).toBe('issue_dependencies_blocked');
    await gql(server, `mutation($input: AssignIssueInput!) { assignIssue(input: $input) { issue { id } } }`, { input: { issueId: issueGid(blocked), agentId: agentGid(agentId) } });
    await gql(server, `mutation($input: UpdateIssueInput!) { updateIssue(input: $input) { status } }`, { input: { id: issueGid(blocker), status: 'DONE' } });
    const woken = await db().query.wakeupRequests.findFirst({ where: { agentId, reason: 'issue_blockers_resolved' } });
    expect(woken).toMatchObject({ status: 'queued', payload: { issueId: blocked, resolvedBlockerIssueId: blocker } });
  });
});

describe('adapters through the engine', () => {
  let http: Server;
  let url: string;
  beforeAll(async () => {
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const context = JSON.parse(body) as { runId: string };
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write(`${JSON.stringify({ type: 'assistant.message', message: `working on ${context.runId}` })}\n`);
        res.write('plain progress line\n');
        res.end(`${JSON.stringify({ result: { answer: 42 }, summary: 'answered' })}\n`);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/agent`;
  });
  afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));

  it('an http agent streaming NDJSON: events, log and result land on the run', async () => {
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url } });
    const { runId } = await enqueue(server, { agentId });
    const run = await finished(runId!);
    expect(run).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(run.resultJson).toMatchObject({ answer: 42, summary: 'answered' });
    expect(run.stdoutExcerpt).toBe('plain progress line\n');
    const events = await db().query.runEvents.findMany({ where: { runId: runId! }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => e.eventType)).toEqual(['lifecycle', 'adapter.invoke', 'assistant.message', 'lifecycle']);
    expect(events[2].message).toBe(`working on ${runId}`);
  });

  it('a script agent writing a comment and a plan document through its issue', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ comment: 'Starting' }, { document: { key: 'plan', body: '1. fix' } }, { fail: { message: 'upstream 503', errorFamily: 'transient_upstream' } }] } });
    const { issueId, wakeup } = await createIssue(server, { title: 'Scripted', assigneeAgentId: agentId });
    const run = await finished(rawId(wakeup!.run!.id));
    expect(run).toMatchObject({ status: 'failed', error: 'upstream 503', errorCode: 'adapter_failed' });
    expect(run.resultJson).toMatchObject({ errorFamily: 'transient_upstream', stopReason: 'adapter_failed' });
    expect((await db().query.issueComments.findMany({ where: { issueId } })).map((c) => [c.body, c.createdByRunId])).toEqual([['Starting', run.id]]);
    expect(await db().query.issueDocumentRevisions.findMany({ where: { issueId } })).toMatchObject([{ key: 'plan', createdByRunId: run.id }]);
    // The agent's status and counters are the last follow-up steps.
    await waitFor('agent status error', async () => (await db().query.agents.findFirst({ where: { id: agentId } }))?.status === 'error');
    const state = await db().query.agentRuntimeState.findFirst({ where: { agentId } });
    expect(state).toMatchObject({ lastRunId: run.id, lastRunStatus: 'failed', totalRuns: 1 });
  });
});
