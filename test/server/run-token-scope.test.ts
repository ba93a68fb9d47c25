// A run token writes a comment or a document on its run's own issue and may read back only the
// written object's own fields: any selection reaching another object (the issue, its blockers,
// the agent and its runs, the company, a wakeup) is FORBIDDEN before anything runs or is written.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineInstances, heartbeatRuns, issueComments, issueDocuments, wakeupRequests } from '../../db/schema.ts';
import { hashApiKey, RUN_TOKEN_PREFIX } from '../../engine/access/api-keys.ts';
import { createAgent, createIssue, issueGid } from '../support/api.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('what a run token may read back', () => {
  let server: TestServer;
  let token: string;
  let issue: string;
  beforeAll(async () => {
    server = await startTestServer();
    const { db } = server.database;
    const agentId = await createAgent(server, {});
    const own = await createIssue(server, { title: 'own' });
    const other = await createIssue(server, { title: 'other' });
    issue = issueGid(own.issueId);
    await postGraphQL(server.graphqlUrl, 'mutation($i: ID!, $b: ID!) { addIssueBlocker(input: { issueId: $i, blockerIssueId: $b }) { id } }', {
      key: server.adminKey,
      variables: { i: issue, b: issueGid(other.issueId) },
    });
    // A running run that no engine executes (its owner holds a live lease elsewhere), with a known token.
    token = RUN_TOKEN_PREFIX + randomBytes(24).toString('base64url');
    const [owner] = await db.insert(engineInstances).values({ host: 'elsewhere', pid: 1, leaseExpiresAt: new Date(Date.now() + 3_600_000) }).returning();
    const [wake] = await db.insert(wakeupRequests).values({ companyId: server.companyId, agentId, source: 'on_demand', status: 'claimed' }).returning();
    await db.insert(heartbeatRuns).values({
      companyId: server.companyId,
      agentId,
      issueId: own.issueId,
      status: 'running',
      wakeupRequestId: wake.id,
      ownerInstanceId: owner.id,
      ownerHost: 'elsewhere',
      runTokenHash: hashApiKey(token),
    });
  });
  afterAll(() => server?.close());

  const asRun = (query: string) => postGraphQL(server.graphqlUrl, query, { key: token, variables: { issue } });
  const written = async () => ({
    comments: await server.database.db.$count(issueComments),
    documents: await server.database.db.$count(issueDocuments),
  });

  it('refuses selections that reach other objects, with FORBIDDEN and nothing written', async () => {
    const before = await written();
    for (const query of [
      // The probe's query.
      `mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "plan", body: "x" }) { issue { blockers { identifier documents { key } comments { body } }
         assigneeAgent { adapterConfig runs(first: 5) { edges { node { context issue { identifier } } } } company { name } } } } }`,
      'mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "plan", body: "x" }) { id issue { id } } }',
      'mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "plan", body: "x" }) { ...D } } fragment D on IssueDocument { key issue { title } }',
      'mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "plan", body: "x" }) { ... on IssueDocument { issue { title } } } }',
      'mutation($issue: ID!) { addIssueComment(input: { issueId: $issue, body: "x" }) { comment { id issue { title } } } }',
      'mutation($issue: ID!) { addIssueComment(input: { issueId: $issue, body: "x" }) { comment { authorAgent { name } } } }',
      'mutation($issue: ID!) { addIssueComment(input: { issueId: $issue, body: "x" }) { wakeup { run { id } } } }',
    ]) {
      const { status, body } = await asRun(query);
      expect(body.errors?.[0].extensions?.code, query).toBe('FORBIDDEN');
      expect(status, query).toBe(403);
      expect(body.data ?? null, query).toBeNull();
    }
    expect(await written()).toEqual(before);
  });

  it('refuses the continuation summary, the engine\'s own document, with FORBIDDEN and nothing written', async () => {
    const before = await written();
    const { status, body } = await asRun('mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "continuation-summary", body: "Done." }) { key } }');
    expect(body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0].message).toContain('written by the engine');
    expect(status).toBe(403);
    expect(await written()).toEqual(before);
    // A person may still revise it (docs/engine.md §16).
    const byPerson = await postGraphQL(server.graphqlUrl, 'mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "continuation-summary", body: "Wait for review." }) { key } }', {
      key: server.adminKey,
      variables: { issue },
    });
    expect(byPerson.body.errors).toBeUndefined();
  });

  it("lets the written object's own fields through", async () => {
    const document = await asRun('mutation($issue: ID!) { putIssueDocument(input: { issueId: $issue, key: "plan", body: "x" }) { __typename id key body revisionCount updatedAt } }');
    expect(document.body.errors).toBeUndefined();
    expect(document.body.data).toMatchObject({ putIssueDocument: { key: 'plan', body: 'x', revisionCount: 1 } });
    const comment = await asRun(
      'mutation($issue: ID!) { addIssueComment(input: { issueId: $issue, body: "hi" }) { __typename comment { ...C } } } fragment C on IssueComment { id body createdByRunId createdAt }',
    );
    expect(comment.body.errors).toBeUndefined();
    expect(comment.body.data).toMatchObject({ addIssueComment: { comment: { body: 'hi' } } });
  });
});
