// The continuation summary (docs/engine.md §16) through the API of a real server: every run on an
// issue leaves a revision of the issue's `continuation-summary` document, whatever its outcome; the
// next run is given the latest; and the summary is never evidence, nor read by the liveness
// classifier (a run that printed nothing stays empty_response, a summary's "waiting for review" does
// not make a run blocked).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createIssue, gql, issueGid, agentGid } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const db = () => server.database.db;

const setSteps = (agentId: string, steps: unknown[]) =>
  gql(server, `mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { id } }`, { input: { id: agentGid(agentId), adapterConfig: { steps } } });

const comment = (issueId: string, body: string) =>
  gql(server, `mutation($input: AddIssueCommentInput!) { addIssueComment(input: $input) { comment { id } } }`, { input: { issueId: issueGid(issueId), body } });

/** The next run on the issue after `known`, once settled. */
async function nextSettledRun(issueId: string, known: Set<string>) {
  const run = await waitFor(`a new settled run on issue ${issueId}`, async () => {
    const runs = await db().query.heartbeatRuns.findMany({ where: { issueId }, orderBy: { createdAt: 'asc' } });
    return runs.find((r) => !known.has(r.id) && r.settledAt !== null);
  });
  known.add(run.id);
  return run;
}

/**
 * Every run on the issue once all are settled (a failed run's immediate recovery may queue more;
 * the engine's loop is what settles them), in the order they were created.
 */
const quietRuns = (issueId: string) =>
  waitFor(`the runs on issue ${issueId} to settle`, async () => {
    const runs = await db().query.heartbeatRuns.findMany({ where: { issueId }, orderBy: { createdAt: 'asc' } });
    return runs.length > 0 && runs.every((r) => r.settledAt !== null) ? runs : null;
  });

const summaryRevisions = (issueId: string) =>
  db().query.issueDocumentRevisions.findMany({ where: { issueId, key: 'continuation-summary' }, orderBy: { revision: 'asc' } });

describe('the continuation summary', () => {
  it('a succeeded, a failed and a crashed run each leave a revision; the next run gets the latest; none is evidence', async () => {
    const agentId = await createAgent(server, {
      adapterConfig: { steps: [{ comment: 'Fixed the parser for week 53' }, { result: { ok: true }, summary: 'Parser fixed; tests pass' }] },
    });
    const created = await gql<{ createIssue: { issue: { id: string } } }>(
      server,
      `mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { id } } }`,
      { input: { title: 'Week 53', description: '## Objective\nParse ISO week 53.\n\n## Acceptance criteria\n- 2026-W53 parses\n', assigneeAgentId: agentGid(agentId) } },
    );
    const issueId = Buffer.from(created.createIssue.issue.id, 'base64').toString('utf8').split(':')[1];
    const known = new Set<string>();

    const succeeded = await nextSettledRun(issueId, known);
    expect(succeeded).toMatchObject({ status: 'succeeded', livenessState: 'advanced' });

    // A failed run, then a crashed one (each may be followed by the issue's immediate recovery,
    // which runs the same steps).
    await setSteps(agentId, [{ fail: { message: 'tests are red' } }]);
    await comment(issueId, 'Still broken on leap years');
    await waitFor('a failed run', async () => (await db().query.heartbeatRuns.findMany({ where: { issueId, status: 'failed' } })).length > 0);
    await quietRuns(issueId);
    await setSteps(agentId, [{ throw: 'adapter blew up' }]);
    await comment(issueId, 'Try again please');
    await waitFor('a crashed run', () => db().query.heartbeatRuns.findFirst({ where: { issueId, error: 'adapter blew up' } }));
    const runs = (await quietRuns(issueId)).filter((r) => r.startedAt !== null);
    for (const run of runs) known.add(run.id);
    const failed = runs.find((r) => r.status === 'failed' && r.error === 'tests are red')!;
    const crashed = runs.find((r) => r.error === 'adapter blew up')!;
    // Each was given the summary the run before it left.
    expect(failed.contextSnapshot.continuationSummary).toMatchObject({ key: 'continuation-summary', body: expect.stringContaining(succeeded.id) });

    // One revision per run that ran, by that run, in the order they ran.
    const revisions = await summaryRevisions(issueId);
    expect(revisions.map((r) => r.createdByRunId)).toEqual(runs.map((r) => r.id));
    expect(new Set(revisions.map((r) => r.createdByAgentId))).toEqual(new Set([agentId]));
    const bodyOf = (runId: string) => revisions.find((r) => r.createdByRunId === runId)!.body;
    expect(bodyOf(succeeded.id)).toContain('- Issue status: in_progress');
    expect(bodyOf(succeeded.id)).toContain('Parser fixed; tests pass');
    expect(bodyOf(succeeded.id)).toContain('## Objective\nParse ISO week 53.');
    expect(bodyOf(succeeded.id)).toContain('## Acceptance criteria\n- 2026-W53 parses');
    expect(bodyOf(succeeded.id)).toContain('- Commented: "Fixed the parser for week 53"');
    expect(bodyOf(failed.id)).toContain(`Find out why run ${failed.id} ended failed`);
    expect(bodyOf(crashed.id)).toContain('adapter blew up');
    for (const revision of revisions) expect(revision.body.length).toBeLessThanOrEqual(8_000);
    const latest = revisions.at(-1)!.body;
    const document = await db().query.issueDocuments.findFirst({ where: { issueId, key: 'continuation-summary' } });
    expect(document).toMatchObject({ body: latest, revisionCount: revisions.length });

    // A run that prints nothing: it gets the latest summary, writes its own revision, and is still
    // empty_response: neither the summary it was given nor the one it left is evidence.
    await setSteps(agentId, []);
    await comment(issueId, 'Anything?');
    const silent = await nextSettledRun(issueId, known);
    expect(silent.contextSnapshot.continuationSummary).toMatchObject({ body: latest });
    expect(silent.contextSnapshot.wake).toMatchObject({ continuationSummary: { body: latest, bodyTruncated: false } });
    expect(silent).toMatchObject({ status: 'succeeded', livenessState: 'empty_response' });
    expect((await summaryRevisions(issueId)).map((r) => r.createdByRunId)).toContain(silent.id);
  });

  it("lists what the run did as its finish saw it: its document, its last tool events and the summary comment left for it", async () => {
    // No comment of its own: its result summary becomes its comment in the follow-up, after the finish
    // read its work; its tool events are written by the finish itself.
    const agentId = await createAgent(server, {
      adapterConfig: {
        steps: [
          { document: { key: 'plan', body: 'Step one, then step two.' } },
          { event: { type: 'tool_use', message: 'ran the tests' } },
          { event: { type: 'tool_result', message: 'green' } },
          { result: { ok: true }, summary: 'Planned and tested' },
        ],
      },
    });
    const { issueId } = await createIssue(server, { title: 'Summary of what ran', assigneeAgentId: agentId });
    const run = await nextSettledRun(issueId, new Set());
    expect(run.status).toBe('succeeded');
    const [revision] = await summaryRevisions(issueId);
    expect(revision.createdByRunId).toBe(run.id);
    expect(revision.body).toContain('- Wrote the document "plan"');
    expect(revision.body).toContain('- 2 tool events');
    expect(revision.body).toContain('- Commented: "Planned and tested"');
  });

  it('a run cannot write the summary itself: its script step fails the run, and the one revision by the run is the engine\'s', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ document: { key: 'continuation-summary', body: 'All done, nothing left.' } }] } });
    const { issueId } = await createIssue(server, { title: 'Self-summarised', assigneeAgentId: agentId });
    const run = await nextSettledRun(issueId, new Set());
    expect(run).toMatchObject({ status: 'failed', errorCode: 'adapter_failed' });
    expect(run.error).toContain('written by the engine');
    const byRun = (await summaryRevisions(issueId)).filter((revision) => revision.createdByRunId === run.id);
    expect(byRun).toHaveLength(1);
    expect(byRun[0].body).not.toContain('All done, nothing left.');
    expect(byRun[0].body).toContain(run.id);
  });

  it('a summary that says the work waits for review does not make a silent run blocked', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [] } });
    const created = await gql<{ createIssue: { issue: { id: string } } }>(
      server,
      `mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { id } } }`,
      { input: { title: 'Reviewed work' } },
    );
    const issueGlobalId = created.createIssue.issue.id;
    await gql(server, `mutation($input: PutIssueDocumentInput!) { putIssueDocument(input: $input) { key } }`, {
      input: { issueId: issueGlobalId, key: 'continuation-summary', body: '## Next action\nBlocked: waiting for review by the security team.' },
    });
    await gql(server, `mutation($input: AssignIssueInput!) { assignIssue(input: $input) { issue { id } } }`, { input: { issueId: issueGlobalId, agentId: agentGid(agentId) } });
    const issueId = Buffer.from(issueGlobalId, 'base64').toString('utf8').split(':')[1];
    const run = await nextSettledRun(issueId, new Set());
    expect(run.contextSnapshot.continuationSummary).toMatchObject({ body: expect.stringContaining('waiting for review') });
    expect(run).toMatchObject({ status: 'succeeded', livenessState: 'empty_response' });
  });
});
