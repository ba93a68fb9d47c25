// The real `heartbeat` binary against a live server: wake, watch, list, show, cancel, and the
// one-line errors people get.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, agentTaskSessions, costEvents, heartbeatRuns } from '../../db/schema.ts';
import { createAgent, rawId, runFinished, runGid } from '../support/api.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function heartbeat(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawnHeartbeat(args, { HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey, ...env });
  const code = await child.exited;
  return { code, output: child.output() };
}

// Each command is a child process (compiled ahead: a fraction of a second idle, more under a busy suite),
// and a test runs up to ten of them.
describe('heartbeat CLI', { timeout: 120_000 }, () => {
  it('wake, then watch: the events in order, the outcome, exit code 0', async () => {
    await createAgent(server, { name: 'cli-agent', adapterConfig: { steps: [{ log: 'working' }, { event: { type: 'tool.call', message: 'ran the tests' } }, { sleepMs: 200 }, { result: { ok: true }, summary: 'all green' }] } });
    const woken = await heartbeat(['wake', 'cli-agent', '--reason', 'from the cli', '--json']);
    expect(woken.code).toBe(0);
    const result = JSON.parse(woken.output);
    expect(result).toMatchObject({ outcome: 'QUEUED', run: { agent: { name: 'cli-agent' } } });

    const watched = await heartbeat(['runs', 'watch', result.run.id]);
    expect(watched.code).toBe(0);
    const lines = watched.output.split('\n');
    const seqs = lines.map((line) => /^\s*(\d+)\s{2}/.exec(line)?.[1]).filter(Boolean).map(Number);
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(watched.output).toMatch(/run started[\s\S]*adapter invoked[\s\S]*ran the tests[\s\S]*run succeeded/);
    expect(watched.output).toMatch(/status\s+SUCCEEDED/);

    const json = await heartbeat(['runs', 'watch', result.run.id, '--json']);
    const events = json.output.trim().split('\n').map((line) => JSON.parse(line));
    expect(events.slice(0, -1).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1).outcome.status).toBe('SUCCEEDED');

    // show: its summary and the end of its output; log: all of the output, or one stream, or its tail.
    const shown = await heartbeat(['runs', 'show', result.run.id]);
    expect(shown.output).toMatch(/^summary\s+all green$/m);
    expect(shown.output).toMatch(/^stdout\s+\(its last lines.*\)\n  working$/m);
    const log = await heartbeat(['runs', 'log', result.run.id]);
    expect(log).toEqual({ code: 0, output: 'working\n' });
    expect(await heartbeat(['runs', 'log', result.run.id, '--stream', 'stdout', '--tail', '4'])).toEqual({ code: 0, output: 'ing\n' });
    const noStderr = await heartbeat(['runs', 'log', result.run.id, '--stream', 'stderr']);
    expect(noStderr).toEqual({ code: 0, output: `heartbeat: run ${result.run.id} has no stored stderr output\n` });
    expect(JSON.parse((await heartbeat(['runs', 'log', result.run.id, '--json'])).output)).toEqual({ id: result.run.id, log: 'working\n', expired: false });
  });

  it('watch exits non-zero for a run that did not succeed', async () => {
    await createAgent(server, { name: 'cli-failer', adapterConfig: { steps: [{ exit: 3 }] } });
    const woken = JSON.parse((await heartbeat(['wake', 'cli-failer', '--json'])).output);
    const watched = await heartbeat(['runs', 'watch', woken.run.id]);
    expect(watched.code).toBe(1);
    expect(watched.output).toMatch(/status\s+FAILED \(adapter_failed\), exit code 3/);
  });

  it('lists agents and runs as tables, shows and cancels a run', async () => {
    await createAgent(server, { name: 'cli-sleeper', adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const agents = await heartbeat(['agents', 'list']);
    expect(agents.output).toMatch(/^ID\s+NAME\s+STATUS/m);
    expect(agents.output).toContain('cli-sleeper');
    const woken = JSON.parse((await heartbeat(['wake', 'cli-sleeper', '--json'])).output);
    const listed = await heartbeat(['runs', 'list', '--agent', 'cli-sleeper']);
    // The table shows short ids, as the console does: the first 8 characters of the run's UUID.
    expect(listed.output).toMatch(new RegExp(`^${rawId(woken.run.id).slice(0, 8)}\\s+(QUEUED|RUNNING)\\s+cli-sleeper\\s`, 'm'));
    const shown = await heartbeat(['runs', 'show', woken.run.id]);
    expect(shown.output).toMatch(/agent\s+cli-sleeper/);
    const cancelled = await heartbeat(['runs', 'cancel', woken.run.id]);
    expect(cancelled).toMatchObject({ code: 0 });
    expect(cancelled.output).toContain('is CANCELLED');
  });

  it('pauses an agent (its running run is cancelled, wakes are refused) and resumes it', async () => {
    await createAgent(server, { name: 'cli-pausable', adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const woken = JSON.parse((await heartbeat(['wake', 'cli-pausable', '--json'])).output);
    const paused = await heartbeat(['agents', 'pause', 'cli-pausable']);
    expect(paused).toEqual({ code: 0, output: 'agent cli-pausable is PAUSED\n' });
    expect(JSON.parse((await heartbeat(['runs', 'show', woken.run.id, '--json'])).output).status).toBe('CANCELLED');
    const refused = await heartbeat(['wake', 'cli-pausable']);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/^heartbeat: .*paused.* \(CONFLICT\)\n$/);
    const resumed = await heartbeat(['agents', 'resume', 'cli-pausable', '--json']);
    expect(JSON.parse(resumed.output)).toMatchObject({ name: 'cli-pausable', status: 'IDLE' });
    expect((await heartbeat(['wake', 'cli-pausable'])).code).toBe(0);
    await heartbeat(['agents', 'pause', 'cli-pausable']);
  });

  it('finds agents beyond the first page (the API serves 100 at a time)', async () => {
    await server.database.db.insert(agents).values(
      Array.from({ length: 120 }, (_, i) => ({ companyId: server.companyId, name: `cli-bulk-${String(i).padStart(3, '0')}`, adapterType: 'script' as const, adapterConfig: { steps: [] } })),
    );
    const listed = JSON.parse((await heartbeat(['agents', 'list', '--json'])).output) as Array<{ name: string }>;
    const bulk = listed.map((agent) => agent.name).filter((name) => name.startsWith('cli-bulk-'));
    expect(bulk.sort()).toEqual(Array.from({ length: 120 }, (_, i) => `cli-bulk-${String(i).padStart(3, '0')}`));
    for (const name of ['cli-bulk-000', 'cli-bulk-119']) {
      const woken = await heartbeat(['wake', name, '--json']);
      expect(woken.code).toBe(0);
      expect(JSON.parse(woken.output).run.agent.name).toBe(name);
    }
  });

  it("lists and resets an agent's sessions, and wakes it fresh or resuming an earlier run's session", async () => {
    const agentId = await createAgent(server, { name: 'cli-resumer', adapterConfig: { steps: [{ log: 'on it' }] } });
    const { db } = server.database;
    const [earlier] = await db
      .insert(heartbeatRuns)
      .values({ companyId: server.companyId, agentId, status: 'succeeded', contextSnapshot: { taskKey: 'docs' }, sessionIdBefore: 'sess-0', sessionIdAfter: 'sess-docs' })
      .returning({ id: heartbeatRuns.id });
    const session = (taskKey: string, values: Partial<typeof agentTaskSessions.$inferInsert> = {}) =>
      ({ companyId: server.companyId, agentId, adapterType: 'script' as const, taskKey, sessionParams: { sessionId: `sess-${taskKey}` }, ...values });
    await db.insert(agentTaskSessions).values([
      session('docs', { sessionDisplayId: 'Docs pass', lastRunId: earlier.id, updatedAt: new Date() }),
      session('tests', { lastError: 'run_failed', updatedAt: new Date(Date.now() - 60_000) }),
    ]);

    const listed = await heartbeat(['agents', 'sessions', 'cli-resumer']);
    expect(listed.code).toBe(0);
    const lines = listed.output.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TASK\s+SESSION\s+LAST RUN\s+LAST ERROR\s+UPDATED$/);
    expect(lines[1]).toMatch(new RegExp(`^docs\\s+Docs pass \\(sess-docs\\)\\s+${runGid(earlier.id)}\\s+-\\s+\\S+$`));
    expect(lines[2]).toMatch(/^tests\s+sess-tests\s+-\s+run_failed\s+\S+$/);
    const json = JSON.parse((await heartbeat(['agents', 'sessions', 'cli-resumer', '--json'])).output);
    expect(json.taskSessions.map((s: { taskKey: string }) => s.taskKey)).toEqual(['docs', 'tests']);

    // Resume the session the earlier run left; then, wanting a fresh start, skip the stored one.
    const resumed = JSON.parse((await heartbeat(['wake', 'cli-resumer', '--resume-from', runGid(earlier.id), '--json'])).output);
    // The stored session is the one that run left: it comes with its display id, which the run records.
    expect((await runFinished(server, rawId(resumed.run.id))).sessionIdBefore).toBe('Docs pass');
    const shown = await heartbeat(['runs', 'show', resumed.run.id]);
    expect(shown.output).toMatch(/^task\s+docs$/m);
    expect(shown.output).toMatch(/^session\s+resumed Docs pass, left Docs pass$/m);
    const fresh = JSON.parse((await heartbeat(['wake', 'cli-resumer', '--fresh-session', '--payload', '{"taskKey":"tests"}', '--json'])).output);
    const freshRun = await runFinished(server, rawId(fresh.run.id));
    expect(freshRun.sessionIdBefore).toBeNull();
    expect(freshRun.contextSnapshot).toMatchObject({ sessionResetReason: 'forceFreshSession was requested' });
    const both = await heartbeat(['wake', 'cli-resumer', '--fresh-session', '--resume-from', runGid(earlier.id)]);
    expect(both.code).toBe(1);
    expect(both.output).toMatch(/^error: option '--fresh-session' cannot be used with option '--resume-from <run>'/);

    expect(await heartbeat(['agents', 'reset-session', 'cli-resumer', '--task', 'tests'])).toEqual({ code: 0, output: 'removed 1 session of task tests of agent cli-resumer\n' });
    expect(await heartbeat(['agents', 'reset-session', 'cli-resumer'])).toEqual({ code: 0, output: 'removed 1 session of agent cli-resumer\n' });
    expect(await heartbeat(['agents', 'sessions', 'cli-resumer'])).toEqual({ code: 0, output: 'agent cli-resumer has no sessions\n' });
  });

  it('creates a project, sets, lists and deletes a budget, and sums costs per agent and day since 7d with a total line', async () => {
    const agentId = await createAgent(server, { name: 'cli-spender' });
    const { db } = server.database;
    // What two runs cost: one today, one a month ago (before --since 7d).
    for (const [occurredAt, costCents] of [[new Date(), 300], [new Date(Date.now() - 30 * 86_400_000), 9_900]] as const) {
      const [run] = await db.insert(heartbeatRuns).values({ companyId: server.companyId, agentId, status: 'succeeded' }).returning({ id: heartbeatRuns.id });
      await db.insert(costEvents).values({ companyId: server.companyId, runId: run.id, agentId, biller: 'anthropic', billingType: 'metered_api', inputTokens: 1_200, outputTokens: 50, costCents, occurredAt });
    }

    expect((await heartbeat(['projects', 'create', 'CLI project'])).output).toMatch(/^created project CLI project \(\S+\)\n$/);
    const set = await heartbeat(['budgets', 'set', '--scope', 'agent', '--id', 'cli-spender', '--period', 'all-time', '--limit-cents', '20000', '--warn-percent', '50', '--json']);
    expect(set.code).toBe(0);
    const budget = JSON.parse(set.output);
    expect(budget).toMatchObject({ scope: 'AGENT', period: 'ALL_TIME', limitCents: 20_000, spentCents: 10_200, status: 'WARNING' });
    const listed = (await heartbeat(['budgets', 'list'])).output.trimEnd().split('\n');
    expect(listed[0]).toMatch(/^ID\s+SCOPE\s+PERIOD\s+LIMIT\s+SPENT\s+USED\s+WARN\s+STATUS$/);
    expect(listed[1]).toMatch(/^\S+\s+agent cli-spender\s+all time\s+\$200\.00\s+\$102\.00\s+51%\s+50%\s+WARNING$/);

    const costs = await heartbeat(['costs', '--by', 'agent', 'day', '--since', '7d']);
    expect(costs.code).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect(costs.output.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^AGENT\s+DAY\s+COST\s+INPUT\s+CACHED\s+OUTPUT\s+RUNS$/),
      expect.stringMatching(new RegExp(`^cli-spender\\s+${today}\\s+\\$3\\.00\\s+1,200\\s+0\\s+50\\s+1$`)),
      expect.stringMatching(/^total\s+-\s+\$3\.00\s+1,200\s+0\s+50\s+1$/),
    ]);
    expect(await heartbeat(['budgets', 'delete', budget.id])).toEqual({ code: 0, output: `deleted budget ${budget.id}\n` });
  });

  it('refuses a bad --limit or --stream before asking the server', async () => {
    for (const args of [['runs', 'list', '--limit', 'abc'], ['runs', 'list', '--limit', '0'], ['runs', 'list', '--limit', '101'], ['runs', 'log', 'x', '--stream', 'stdin']]) {
      const refused = await heartbeat(args);
      expect(refused.code).toBe(1);
      expect(refused.output).toMatch(/^error: option '--(limit|stream) <\w+>' argument '\w+' is invalid/);
    }
  });

  it('fails with one clear line: bad key, unknown id, unknown agent, server down', async () => {
    const badKey = await heartbeat(['agents', 'list'], { HEARTBEAT_API_KEY: 'hb_not_a_real_key_not_a_real_key' });
    expect(badKey.code).toBe(1);
    expect(badKey.output.trim()).toBe('heartbeat: the API key was refused (UNAUTHENTICATED); check HEARTBEAT_API_KEY');
    const unknownRun = await heartbeat(['runs', 'show', runGid('00000000-0000-4000-8000-000000000000')]);
    expect(unknownRun.code).toBe(1);
    expect(unknownRun.output.trim()).toMatch(/^heartbeat: no run \S+ \(NOT_FOUND\)$/);
    const unknownAgent = await heartbeat(['wake', 'nobody']);
    expect(unknownAgent.output.trim()).toBe('heartbeat: no agent "nobody" (NOT_FOUND)');
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const downUrl = `http://127.0.0.1:${closedPort}/graphql`;
    const down = await heartbeat(['agents', 'list'], { HEARTBEAT_URL: downUrl });
    expect(down.code).toBe(1);
    expect(down.output.trim()).toBe(`heartbeat: cannot reach Heartbeat at ${downUrl}: ECONNREFUSED`);
    expect(down.output.trim().split('\n')).toHaveLength(1);
    const noKey = await heartbeat(['agents', 'list'], { HEARTBEAT_API_KEY: '' });
    expect(noKey.code).toBe(2);
  });
});
