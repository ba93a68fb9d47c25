// CODEX agents through a real server and engine on real PostgreSQL, with a fake `codex`
// (test/fixtures/agents/fake-codex.mjs) on the agent's PATH replaying recorded `codex exec --json`
// streams: the prompt and command line of an issue run and of the comment that resumes its thread,
// what a run records (events, result, session, usage, cost), a rate limit retried on the bounded
// schedule, and cancel.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../../engine/adapters/process-groups.ts';
import { BOUNDED_RETRY_DELAYS_MS } from '../../../engine/rules/retry-schedule.ts';
import { agentEvents, createCodingAgent, expectedPrompt, expectTaskFile, settledRun, startOf } from '../../fixtures/agents/coding-cli-runs.ts';
import { installFakeClis } from '../../fixtures/agents/fake-coding-clis.ts';
import { CODEX_FINAL_TEXT, CODEX_THREAD, STREAMS } from '../../fixtures/cli-streams/recorded.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const actor = { type: 'user' as const, id: 'ana' };

describe('CODEX agents', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-codex-'));
    await installFakeClis(dir);
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const engine = () => server.app.engine;
  const db = () => server.database.db;
  const agent = (stream: string, env: Record<string, string> = {}, config: Record<string, unknown> = {}) => {
    const record = join(dir, `${Math.random().toString(36).slice(2)}.record`);
    return createCodingAgent(server, 'CODEX', { binDir: dir, record, stream, env, config }).then((agentId) => ({ agentId, record }));
  };

  it('an assigned issue runs codex exec with the task prompt, fresh; a comment resumes its thread', async () => {
    const { agentId, record } = await agent(STREAMS.codex, {}, { model: 'gpt-5-codex', extraArgs: ['--sandbox', 'workspace-write'] });
    const { issue, wakeup } = await engine().issues.create({ companyId: server.companyId, title: 'Fix ISO week numbers', assigneeAgentId: agentId }, actor);
    const first = await settledRun(server, wakeup!.run!.id);

    const started = await startOf(record, first.id);
    expect(started.argv).toEqual(['exec', '--json', '--model', 'gpt-5-codex', '--sandbox', 'workspace-write', '--', expectedPrompt(first.contextSnapshot)]);
    // The prompt is the task text the claim rendered and stored with the run.
    expect(first.contextSnapshot.taskMarkdown).toEqual(expect.stringContaining('- Title: "Fix ISO week numbers"'));
    expect(started.prompt).toBe(first.contextSnapshot.taskMarkdown);
    expect(started.resumeId).toBeNull();
    expect(started.stdin).toBe('');
    expectTaskFile(started, first.contextSnapshot);
    expect(started.taskFile).not.toBeNull();
    expect(existsSync(started.taskFile!.path)).toBe(false);

    // Result, session (the thread), usage (the thread's running totals) and its cost event.
    expect(first).toMatchObject({ status: 'succeeded', exitCode: 0, errorCode: null, sessionIdBefore: null, sessionIdAfter: CODEX_THREAD });
    expect(first.resultJson).toMatchObject({ result: CODEX_FINAL_TEXT, summary: CODEX_FINAL_TEXT });
    expect(first.usageJson).toMatchObject({ inputTokens: 24763, cachedInputTokens: 24448, outputTokens: 122, provider: 'openai' });
    const costs = await db().query.costEvents.findMany({ where: { runId: first.id } });
    expect(costs).toEqual([expect.objectContaining({ agentId, issueId: issue.id, provider: 'openai', costCents: 0, inputTokens: 24763, outputTokens: 122 })]);

    const events = await agentEvents(server, first.id);
    expect(events.map((e) => e.eventType)).toEqual([
      'thread.started',
      'assistant.reasoning',
      'tool.call',
      'tool.result',
      'tool.call',
      'tool.result',
      'tool.call',
      'tool.result',
      'assistant.message',
    ]);
    expect(events[2]).toMatchObject({ message: 'command_execution', payload: { input: { command: "bash -lc 'npm test -- --run src/date.test.ts'" } } });
    expect(events[3]).toMatchObject({ level: 'warn', payload: { isError: true, exitCode: 1, content: expect.stringContaining('FAIL src/date.test.ts') } });
    expect(events[5]).toMatchObject({ message: 'file_change', payload: { isError: false, content: 'update src/date.ts' } });
    expect(events[8].message).toBe(CODEX_FINAL_TEXT);

    // A person's comment: the next run resumes the thread, with the same flags before `resume`.
    const comment = await engine().issues.addComment({ companyId: server.companyId, issueId: issue.id, body: 'Please also cover 2026-W53.' }, actor);
    const second = await settledRun(server, comment.wakeup!.run!.id);
    const resumed = await startOf(record, second.id);
    expect(resumed.argv).toEqual(['exec', '--json', '--model', 'gpt-5-codex', '--sandbox', 'workspace-write', 'resume', CODEX_THREAD, '--', expectedPrompt(second.contextSnapshot)]);
    expect(resumed.prompt).toBe(second.contextSnapshot.taskMarkdown);
    expect(resumed.env.HEARTBEAT_SESSION_ID).toBe(CODEX_THREAD);
    expect(second).toMatchObject({ status: 'succeeded', sessionIdBefore: CODEX_THREAD, sessionIdAfter: CODEX_THREAD });
  });

  it('a rate limit fails the run as transient_upstream, and the engine schedules a bounded retry', async () => {
    const { agentId, record } = await agent(STREAMS.codexRateLimit);
    const { run } = await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'nightly_triage', payload: { scope: 'flaky tests' } });
    const failed = await settledRun(server, run!.id);
    expect(failed).toMatchObject({ status: 'failed', exitCode: 1, errorCode: 'upstream_rate_limited', error: 'exceeded retry limit, last status: 429 Too Many Requests' });
    expect(failed.resultJson).toMatchObject({ errorFamily: 'transient_upstream' });
    const events = await agentEvents(server, failed.id);
    expect(events.filter((e) => e.eventType === 'agent.error').map((e) => e.level)).toEqual(['error', 'error']);

    const retry = await waitFor('the scheduled retry', () => db().query.heartbeatRuns.findFirst({ where: { retryOfRunId: failed.id } }));
    expect(retry).toMatchObject({ status: 'scheduled_retry', agentId, scheduledRetryAttempt: 1, scheduledRetryReason: 'transient_failure' });
    const delay = retry.scheduledRetryAt!.getTime() - failed.finishedAt!.getTime();
    expect(delay).toBeGreaterThanOrEqual(BOUNDED_RETRY_DELAYS_MS[0] * 0.75 - 1_000);
    expect(delay).toBeLessThanOrEqual(BOUNDED_RETRY_DELAYS_MS[0] * 1.25 + 1_000);

    const started = await startOf(record, failed.id);
    expect(started.argv).toEqual(['exec', '--json', '--', expectedPrompt(failed.contextSnapshot)]);
    expect(started.prompt).toContain('nightly_triage');
  });

  it('cancel stops the codex process', async () => {
    const { agentId, record } = await agent(STREAMS.codex, { FAKE_CLI_HANG: '1' });
    const { run } = await engine().enqueueWakeup({ companyId: server.companyId, agentId, reason: 'long_task' });
    const started = await startOf(record, run!.id);
    expect(pidAlive(started.pid)).toBe(true);
    await engine().cancelRun({ companyId: server.companyId, runId: run!.id });
    await waitFor(`codex (pid ${started.pid}) to be gone`, () => !pidAlive(started.pid), { timeoutMs: 10_000 });
    expect(await settledRun(server, run!.id)).toMatchObject({ status: 'cancelled' });
  });

  it('refuses maxTurns at createAgent, naming the field', async () => {
    const error = await createCodingAgent(server, 'CODEX', { binDir: dir, record: join(dir, 'unused'), stream: STREAMS.codex, config: { maxTurns: 10 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('adapterConfig.maxTurns') });
  });
});
