// What an issue run is told (docs/engine.md §15), through the whole server and a real process agent:
// the rendered wake and the task text on its stdin, stored with the run, rendered again when wakes
// coalesce, and the bounds of the comments it shows.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_GUARD } from '../../../engine/rules/wake-render.ts';
import { createAgent, enqueue, gql, issueGid, rawId, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const GATE_AGENT = fileURLToPath(new URL('../../fixtures/agents/gate-agent.mjs', import.meta.url));

let server: TestServer;
let gates: string;
beforeAll(async () => {
  server = await startTestServer();
  gates = await mkdtemp(join(tmpdir(), 'heartbeat-gates-'));
});
afterAll(async () => {
  await server?.close();
  await rm(gates, { recursive: true, force: true });
});

interface Told {
  wake: {
    reason: string;
    issue: { id: string; identifier: string; title: string; status: string; priority: string };
    commentIds: string[];
    latestCommentId: string;
    comments: Array<{ id: string; body: string; bodyTruncated: boolean; author: { type: string; id: string | null } }>;
    commentWindow: { requestedCount: number; includedCount: number; missingCount: number };
    truncated: boolean;
    fallbackFetchNeeded: boolean;
  };
  taskMarkdown: string;
}

/**
 * An agent kept busy by a run waiting on a gate file; `work` queues wakes behind it on an issue
 * assigned to it, which coalesce into one queued run; the gate opens and that run executes.
 * Returns what that run read on stdin, and its row.
 */
async function toldAfter(issue: { title: string; description: string }, work: (issueId: string) => Promise<void>) {
  const agentId = await createAgent(server, {
    adapterType: 'process',
    adapterConfig: { command: process.execPath, args: [GATE_AGENT] },
    heartbeat: { maxConcurrentRuns: 1 },
  });
  const gate = join(gates, `${agentId}.open`);
  const busy = await enqueue(server, { agentId, reason: 'busy', payload: { gate } });
  await waitFor('the busy run to start', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: busy.runId! } }))?.status === 'running');
  const created = await gql<{ createIssue: { issue: { id: string } } }>(
    server,
    `mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { id } } }`,
    { input: { ...issue, assigneeAgentId: agentIdGid(agentId) } },
  );
  const issueId = rawId(created.createIssue.issue.id);
  await work(issueId);
  const queued = await server.database.db.query.heartbeatRuns.findMany({ where: { issueId } });
  expect(queued.map((run) => run.status)).toEqual(['queued']);
  await writeFile(gate, '');
  const run = await runFinished(server, queued[0].id);
  expect(run.status).toBe('succeeded');
  const stdin = (run.resultJson as { stdin: { context: Told & Record<string, unknown> } }).stdin;
  return { told: stdin.context, run, issueId };
}

const agentIdGid = (id: string) => Buffer.from(`Agent:${id}`).toString('base64');

const comment = (issueId: string, body: string) =>
  gql<{ addIssueComment: { comment: { id: string } } }>(
    server,
    `mutation($input: AddIssueCommentInput!) { addIssueComment(input: $input) { comment { id } } }`,
    { input: { issueId: issueGid(issueId), body } },
  ).then((data) => rawId(data.addIssueComment.comment.id));

describe('what an issue run is told', () => {
  it('its issue, its comments and a task text: title JSON-quoted, the description in a longer fence, the latest comment, the guard', async () => {
    const ids: string[] = [];
    const description = 'Fix the date parser.\n\n```ts\nparse("2026-W01")\n```\n';
    const { told, run, issueId } = await toldAfter({ title: 'T', description }, async (issueId) => {
      ids.push(await comment(issueId, 'First: it fails on week 53'));
      ids.push(await comment(issueId, 'Second: and on leap years'));
    });
    const { wake, taskMarkdown } = told;
    expect(wake).toMatchObject({
      reason: 'issue_commented',
      issue: { id: issueId, title: 'T', status: 'in_progress', priority: 'medium' },
      commentIds: ids,
      latestCommentId: ids[1],
      commentWindow: { requestedCount: 2, includedCount: 2, missingCount: 0 },
      truncated: false,
      fallbackFetchNeeded: false,
    });
    expect(wake.comments.map((c) => [c.body, c.author.type, c.bodyTruncated])).toEqual([
      ['First: it fails on week 53', 'user', false],
      ['Second: and on leap years', 'user', false],
    ]);
    expect(taskMarkdown).toContain(TASK_GUARD);
    expect(taskMarkdown).toContain('- Title: "T"');
    expect(taskMarkdown).toContain(`- Issue: ${JSON.stringify(wake.issue.identifier)}`);
    // The description holds a three-backtick fence: it is quoted in a four-backtick one.
    expect(taskMarkdown).toContain(`\`\`\`\`\n${description}\n\`\`\`\``);
    expect(taskMarkdown).toContain('```\nSecond: and on leap years\n```');
    expect(taskMarkdown).not.toContain('First: it fails on week 53');
    expect(taskMarkdown.trimEnd().endsWith('Use this task context as the current assignment.')).toBe(true);
    // Stored with the run: the run shows what its agent was told.
    expect(run.contextSnapshot).toMatchObject({ wake: told.wake, taskMarkdown });
  });

  it('ten coalesced comment wakes show the latest 8, cut; a 5,000-character comment is cut to 4,000', async () => {
    const ids: string[] = [];
    const long = 'x'.repeat(5_000);
    const { told } = await toldAfter({ title: 'Many comments', description: 'Read them all' }, async (issueId) => {
      for (let i = 0; i < 10; i++) ids.push(await comment(issueId, i === 9 ? long : `comment ${i}`));
    });
    const { wake } = told;
    expect(wake.commentIds).toEqual(ids);
    expect(wake.comments.map((c) => c.id)).toEqual(ids.slice(2));
    expect(wake.commentWindow).toEqual({ requestedCount: 10, includedCount: 8, missingCount: 0 });
    expect(wake).toMatchObject({ truncated: true, fallbackFetchNeeded: true });
    const latest = wake.comments.at(-1)!;
    expect(latest.body).toHaveLength(4_000);
    expect(latest.bodyTruncated).toBe(true);
    expect(told.taskMarkdown).toContain('Some of the task data was cut or is missing');
  });
});
