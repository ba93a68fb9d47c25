// CLAUDE_CODE agents through a real server and engine on real PostgreSQL, with a fake `claude`
// (test/fixtures/agents/fake-claude.mjs) on the agent's PATH replaying recorded stream-json streams:
// the prompt and command line of an issue run and of the comment that resumes it, what a run records
// (events, result, session, usage, cost), a rate limit retried on the bounded schedule, and cancel.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../../engine/adapters/process-groups.ts';
import { BOUNDED_RETRY_DELAYS_MS } from '../../../engine/rules/retry-schedule.ts';
import { agentEvents, createCodingAgent, expectedPrompt, expectTaskFile, settledRun, startOf } from '../../fixtures/agents/coding-cli-runs.ts';
import { installFakeClis } from '../../fixtures/agents/fake-coding-clis.ts';
import { CLAUDE_FINAL_TEXT, CLAUDE_MODEL, CLAUDE_SESSION, STREAMS } from '../../fixtures/cli-streams/recorded.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const FLAGS = ['-p', '--output-format', 'stream-json', '--verbose'];
const actor = { type: 'user' as const, id: 'ana' };

describe('CLAUDE_CODE agents', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-claude-code-'));
    await installFakeClis(dir);
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const engine = () => server.app.engine;
  const db = () => server.database.db;
  const agent = (stream: string, env: Record<string, string> = {}) => {
    const record = join(dir, `${Math.random().toString(36).slice(2)}.record`);
    return createCodingAgent(server, 'CLAUDE_CODE', { binDir: dir, record, stream, env }).then((agentId) => ({ agentId, record }));
  };

  it('an assigned issue runs claude with the task prompt, fresh; a comment resumes its session', async () => {
    const { agentId, record } = await agent(STREAMS.claude);
    const { issue, wakeup } = await engine().issues.create({ companyId: server.companyId, title: 'Fix ISO week numbers', assigneeAgentId: agentId }, actor);
    const first = await settledRun(server, wakeup!.run!.id);

    // The command line: print mode with its JSON stream, no --resume, the prompt last.
    const started = await startOf(record, first.id);
    expect(started.argv).toEqual([...FLAGS, '--', expectedPrompt(first.contextSnapshot)]);
    // The prompt is the task text the claim rendered and stored with the run.
    expect(first.contextSnapshot.taskMarkdown).toEqual(expect.stringContaining('- Title: "Fix ISO week numbers"'));
    expect(started.prompt).toBe(first.contextSnapshot.taskMarkdown);
    expect(started.resumeId).toBeNull();
    expect(started.stdin).toBe('');
    expectTaskFile(started, first.contextSnapshot);
    expect(started.taskFile).not.toBeNull();
    expect(existsSync(started.taskFile!.path)).toBe(false);

    // What the run recorded: status, result summary, session, usage and cost.
    expect(first).toMatchObject({ status: 'succeeded', exitCode: 0, errorCode: null, sessionIdBefore: null, sessionIdAfter: CLAUDE_SESSION });
    expect(first.resultJson).toMatchObject({ result: CLAUDE_FINAL_TEXT, summary: CLAUDE_FINAL_TEXT, subtype: 'success' });
    expect(first.usageJson).toMatchObject({ costUsd: 0.1234, costCents: 12, cachedInputTokens: 15_000, outputTokens: 311, model: CLAUDE_MODEL, provider: 'anthropic' });
    const costs = await db().query.costEvents.findMany({ where: { runId: first.id } });
    expect(costs).toEqual([expect.objectContaining({ agentId, issueId: issue.id, costCents: 12, costUsd: 0.1234, cachedInputTokens: 15_000, provider: 'anthropic', model: CLAUDE_MODEL })]);

    // Its events: what Claude said, the tools it called and what they returned.
    const events = await agentEvents(server, first.id);
    expect(events.map((e) => e.eventType)).toEqual(['system', 'assistant.message', 'tool.call', 'tool.result', 'tool.call', 'tool.result', 'assistant.message']);
    expect(events[1].message).toBe("I'll run the test suite first to see what fails.");
    expect(events[2]).toMatchObject({ message: 'Bash', payload: { tool: 'Bash', input: { command: 'npm test -- --run src/date.test.ts' } } });
    expect(events[3]).toMatchObject({ level: 'warn', payload: { tool: 'Bash', isError: true, content: expect.stringContaining('FAIL src/date.test.ts') } });
    expect(events[4]).toMatchObject({ message: 'Edit', payload: { tool: 'Edit', input: { file_path: '/home/dev/acme-api/src/date.ts' } } });
    expect(events[6].message).toBe(CLAUDE_FINAL_TEXT);
    const [invoke] = await db().query.runEvents.findMany({ where: { runId: first.id, eventType: 'adapter.invoke' } });
    expect(invoke.payload).toMatchObject({ adapter: 'claude_code', command: 'claude', env: { PATH: '***REDACTED***' } });

    // A person's comment wakes it again: the run resumes the session the first one left.
    const comment = await engine().issues.addComment({ companyId: server.companyId, issueId: issue.id, body: 'Please also cover 2026-W53.' }, actor);
    const second = await settledRun(server, comment.wakeup!.run!.id);
    const resumed = await startOf(record, second.id);
    expect(resumed.argv).toEqual([...FLAGS, '--resume', CLAUDE_SESSION, '--', expectedPrompt(second.contextSnapshot)]);
    expect(resumed.prompt).toBe(second.contextSnapshot.taskMarkdown);
    expect(resumed.env.HEARTBEAT_SESSION_ID).toBe(CLAUDE_SESSION);
    expect(second).toMatchObject({ status: 'succeeded', sessionIdBefore: CLAUDE_SESSION, sessionIdAfter: CLAUDE_SESSION });
  });

  it('a rate limit fails the run as transient_upstream, and the engine schedules a bounded retry', async () => {
    const { agentId, record } = await agent(STREAMS.claudeRateLimit);
    const { run } = await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'nightly_triage', payload: { scope: 'flaky tests' } });
    const failed = await settledRun(server, run!.id);
    expect(failed).toMatchObject({ status: 'failed', exitCode: 1, errorCode: 'upstream_rate_limited' });
    expect(failed.error).toContain('rate_limit_error');
    expect(failed.resultJson).toMatchObject({ errorFamily: 'transient_upstream', is_error: true });

    const retry = await waitFor('the scheduled retry', () => db().query.heartbeatRuns.findFirst({ where: { retryOfRunId: failed.id } }));
    expect(retry).toMatchObject({ status: 'scheduled_retry', agentId, scheduledRetryAttempt: 1, scheduledRetryReason: 'transient_failure' });
    // Attempt 1: 2 min, ±25%.
    const delay = retry.scheduledRetryAt!.getTime() - failed.finishedAt!.getTime();
    expect(delay).toBeGreaterThanOrEqual(BOUNDED_RETRY_DELAYS_MS[0] * 0.75 - 1_000);
    expect(delay).toBeLessThanOrEqual(BOUNDED_RETRY_DELAYS_MS[0] * 1.25 + 1_000);

    // Without a task text, the prompt is the wake: its reason and payload.
    const started = await startOf(record, failed.id);
    expect(started.prompt).toBe(expectedPrompt(failed.contextSnapshot));
    expect(started.prompt).toContain('nightly_triage');
    expect(started.prompt).toContain('flaky tests');
  });

  it('cancel stops the claude process', async () => {
    const { agentId, record } = await agent(STREAMS.claude, { FAKE_CLI_HANG: '1' });
    const { run } = await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'long_task' });
    const started = await startOf(record, run!.id);
    expect(pidAlive(started.pid)).toBe(true);
    await engine().cancelRun({ companyId: server.companyId, runId: run!.id });
    await waitFor(`claude (pid ${started.pid}) to be gone`, () => !pidAlive(started.pid), { timeoutMs: 10_000 });
    const cancelled = await settledRun(server, run!.id);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
  });
});
