// `heartbeat issues list|show|create|assign|comment` as real processes against a live server: tables
// for people, --json for scripts, issues by identifier or short id, and what each change woke.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, rawId } from '../support/api.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const BIN = fileURLToPath(new URL('../../bin/heartbeat.js', import.meta.url));

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function heartbeat(args: string[]) {
  const child = spawnHeartbeat(args, { HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey });
  let stdout = '';
  let stderr = '';
  child.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await child.exited;
  return { code, stdout, stderr };
}
const json = async (args: string[]) => {
  const result = await heartbeat([...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};

describe('heartbeat issues', { timeout: 180_000 }, () => {
  it('creates issues (assigning one wakes its agent), lists them as a table and filters them', async () => {
    // The agent sleeps: its run stays queued or running while the test looks at it.
    await createAgent(server, { name: 'issue-worker', adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const plain = await heartbeat(['issues', 'create', 'Fix the login page', '--description', 'It rejects long passwords.', '--priority', 'high']);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    expect(plain.stdout).toMatch(/^created issue HB-\d+ \([0-9a-f]{8}\): Fix the login page\n$/);

    const assigned = await json(['issues', 'create', 'Write the docs', '--assignee', 'issue-worker', '--status', 'in-progress']);
    expect(assigned).toMatchObject({ issue: { title: 'Write the docs', status: 'IN_PROGRESS', priority: 'MEDIUM', assigneeAgent: { name: 'issue-worker' } }, wakeup: { outcome: 'QUEUED', run: { id: expect.any(String) } } });

    const table = (await heartbeat(['issues', 'list'])).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^ID\s+ISSUE\s+STATUS\s+PRIORITY\s+ASSIGNEE\s+TITLE\s+UPDATED$/);
    // Newest first.
    expect(table[1]).toMatch(new RegExp(`^${rawId(assigned.issue.id).slice(0, 8)}\\s+${assigned.issue.identifier}\\s+IN_PROGRESS\\s+MEDIUM\\s+issue-worker\\s+Write the docs\\s+\\S+$`));
    expect(table[2]).toMatch(/^[0-9a-f]{8}\s+HB-\d+\s+TODO\s+HIGH\s+-\s+Fix the login page\s+\S+$/);

    expect((await json(['issues', 'list', '--status', 'in-progress'])).map((i: { title: string }) => i.title)).toEqual(['Write the docs']);
    expect((await json(['issues', 'list', '--assignee', 'issue-worker'])).map((i: { title: string }) => i.title)).toEqual(['Write the docs']);
    expect((await json(['issues', 'list', '--limit', '1'])).map((i: { title: string }) => i.title)).toEqual(['Write the docs']);
    expect(await heartbeat(['issues', 'list', '--status', 'almost-done'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: option '--status <status\.\.\.>' argument 'almost-done' is invalid\. expected one of backlog, todo, in-progress/) });
  });

  it('shows an issue by identifier (any case) or short id: state, description, its runs and comments', async () => {
    await createAgent(server, { name: 'issue-shower', adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const { issue } = await json(['issues', 'create', 'Ship the release', '--description', 'Tag it.\nThen announce it.', '--assignee', 'issue-shower']);
    await heartbeat(['issues', 'comment', issue.identifier, 'Remember the changelog']);
    for (const id of [issue.identifier.toLowerCase(), rawId(issue.id).slice(0, 8), rawId(issue.id), issue.id]) {
      const shown = await heartbeat(['issues', 'show', id]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`^issue\\s+${issue.identifier} Ship the release$`, 'm'));
      // TODO, or IN_PROGRESS once its run has checked it out.
      expect(shown.stdout).toMatch(/^status\s+(TODO|IN_PROGRESS), priority MEDIUM$/m);
      expect(shown.stdout).toMatch(/^assignee issue-shower$/m);
      expect(shown.stdout).toContain('\n  Tag it.\n  Then announce it.\n');
      expect(shown.stdout).toMatch(/^runs \(1, the latest first\)\n  [0-9a-f]{8}  \w+\s+issue-shower  \S+$/m);
      expect(shown.stdout).toMatch(/^comments \(1\)\n  \S+ \S+:\n    Remember the changelog$/m);
    }
    const full = await json(['issues', 'show', issue.identifier]);
    expect(full).toMatchObject({ id: issue.id, description: 'Tag it.\nThen announce it.', comments: [{ body: 'Remember the changelog' }], runs: { totalCount: 1 } });
    expect(await heartbeat(['issues', 'show', 'HB-99999'])).toEqual({ code: 1, stdout: '', stderr: 'heartbeat: no issue HB-99999 (NOT_FOUND)\n' });
    expect(await heartbeat(['issues', 'show', 'the release'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'heartbeat: "the release" is not an issue id: give its id, its UUID or at least its first 4 characters, or its identifier such as HB-12 (BAD_USER_INPUT)\n',
    });
  });

  it('assigns an issue to an agent (woken), a person or nobody, and says what it woke', async () => {
    await createAgent(server, { name: 'issue-assignee', adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const { issue } = await json(['issues', 'create', 'Triage the backlog']);
    const assigned = await heartbeat(['issues', 'assign', issue.identifier, 'issue-assignee']);
    expect(assigned).toMatchObject({ code: 0, stderr: '' });
    expect(assigned.stdout).toMatch(new RegExp(`^${issue.identifier} is assigned to issue-assignee\\nwoke agent issue-assignee: run [0-9a-f]{8} \\w+ \\(QUEUED\\)\\n$`));

    const person = await json(['issues', 'assign', issue.identifier, '--user', 'ana']);
    expect(person).toMatchObject({ issue: { assigneeUserId: 'ana', assigneeAgent: null }, wakeup: null });
    expect((await heartbeat(['issues', 'assign', issue.identifier, '--unassign'])).stdout).toBe(`${issue.identifier} is assigned to nobody\n`);
    for (const args of [['issues', 'assign', issue.identifier], ['issues', 'assign', issue.identifier, 'issue-assignee', '--unassign']]) {
      expect(await heartbeat(args)).toEqual({ code: 1, stdout: '', stderr: 'heartbeat: give an agent, --user <id> or --unassign (one of them) (BAD_USER_INPUT)\n' });
    }
    expect((await json(['issues', 'show', issue.identifier])).assigneeAgent).toBeNull();
  });

  it('comments on an issue, from an argument or stdin; the comment wakes the assigned agent', async () => {
    await createAgent(server, { name: 'issue-commented', adapterConfig: { steps: [{ log: 'read it' }] } });
    const { issue } = await json(['issues', 'create', 'Answer the customer', '--assignee', 'issue-commented']);
    const commented = await json(['issues', 'comment', issue.identifier, 'They wrote back']);
    expect(commented).toMatchObject({ comment: { body: 'They wrote back', issue: { identifier: issue.identifier } }, wakeup: { outcome: expect.any(String) } });

    // `-`: the comment is read from stdin, as a pipe gives it.
    const child = spawn(process.execPath, [BIN, 'issues', 'comment', rawId(issue.id).slice(0, 8), '-'], {
      env: { ...process.env, HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stdin.end('A long answer\nover two lines\n');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^commented on ${issue.identifier}\\n(woke agent issue-commented: run [0-9a-f]{8} \\w+ \\(\\w+\\)|agent issue-commented was not woken now: .*)\\n$`));
    const { comments } = await json(['issues', 'show', issue.identifier]);
    expect(comments.map((c: { body: string }) => c.body)).toEqual(['They wrote back', 'A long answer\nover two lines']); // the server trims it
  });

  it('wake and runs list take an issue by identifier', async () => {
    await createAgent(server, { name: 'issue-waker', adapterConfig: { steps: [] } });
    const { issue } = await json(['issues', 'create', 'Wake me on this']);
    const woken = await json(['wake', 'issue-waker', '--issue', issue.identifier.toLowerCase()]);
    expect(woken.run).toMatchObject({ agent: { name: 'issue-waker' }, issue: { id: issue.id, identifier: issue.identifier } });
    const runs = await json(['runs', 'list', '--issue', issue.identifier]);
    expect(runs.map((run: { id: string }) => run.id)).toEqual([woken.run.id]);
  });
});
