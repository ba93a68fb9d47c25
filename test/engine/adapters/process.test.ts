// The process adapter against real child processes: streaming, the line protocol, exit codes,
// timeout, cancel (whole process group, grandchildren included) and config validation.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyLine } from '../../../engine/adapters/lines.ts';
import { LineSplitter } from '../../../engine/adapters/line-splitter.ts';
import { processAdapter, type ProcessConfig } from '../../../engine/adapters/process.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { RECORDED_INVOCATION, recordingExecution, waitFor } from '../../fixtures/agents/recording-execution.ts';

const AGENT = fileURLToPath(new URL('../../fixtures/agents/agent.mjs', import.meta.url));

function agent(mode: string, extra: Partial<ProcessConfig> = {}, arg?: string) {
  const config = processAdapter.parseConfig({
    command: process.execPath,
    args: arg === undefined ? [AGENT, mode] : [AGENT, mode, arg],
    ...extra,
  });
  return recordingExecution(config);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const pidsEvent = (events: Array<{ type: string; payload?: unknown }>) =>
  events.find((e) => e.type === 'pids')?.payload as { child: number; grandchild: number } | undefined;

describe('line protocol', () => {
  it('splits lines across chunks, keeps multi-byte characters whole, returns the final partial line', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('a✓b\r\nsecond\nthird');
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i++) lines.push(...splitter.push(bytes.subarray(i, i + 1)));
    lines.push(...splitter.end());
    expect(lines).toEqual(['a✓b', 'second', 'third']);
    expect(splitter.end()).toEqual([]);
  });

  it('classifies events, results and log lines', () => {
    expect(classifyLine('{"type":"x","message":"m","level":"warn","payload":[1]}')).toEqual({
      kind: 'event',
      event: { type: 'x', message: 'm', level: 'warn', stream: null, color: null, payload: [1] },
    });
    expect(classifyLine('{"type":"x","a":1,"level":"loud"}')).toMatchObject({
      event: { payload: { a: 1 }, level: null },
    });
    expect(classifyLine('{"result":"done","summary":"s","errorCode":7}')).toEqual({
      kind: 'result',
      result: { resultJson: { result: 'done' }, summary: 's' },
    });
    // A typed line carrying a `result` field is an event (a tool result), unless its type is `result`.
    expect(classifyLine('{"type":"tool.result","result":{}}').kind).toBe('event');
    expect(classifyLine('{"type":"result","result":{"a":1}}')).toMatchObject({ result: { resultJson: { a: 1 } } });
    for (const line of ['plain', '[1]', '"str"', '{"type":3}', '{broken', '']) {
      expect(classifyLine(line).kind).toBe('log');
    }
  });
});

// Concurrent: each test owns its children, and most time goes to waiting for processes to die.
describe.concurrent('process adapter', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-process-adapter-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('streams stdout lines and stderr chunks separately, in order; events and a result line', async () => {
    const goFile = join(dir, 'go');
    const rec = agent('stream', { env: { GO_FILE: goFile } });
    const running = processAdapter.execute(rec.execution);
    // The child waits for this file, so seeing its line first proves output streams before exit.
    await waitFor(() => rec.output('stdout').includes('waiting for go\n'), 'streamed stdout');
    await writeFile(goFile, '');
    const result = await running;

    expect(rec.output('stdout')).toBe(
      'plain line 1\n[1,2,3]\n{"no":"type"}\nhéllo wörld ✓\nwaiting for go\ntail without newline\n',
    );
    expect(rec.output('stderr')).toBe('warning 1\nwarning 2\n');
    expect(rec.events).toEqual([
      { type: 'tool.call', message: 'ls', level: 'info', stream: null, color: null, payload: { cmd: 'ls' } },
      { type: 'note', message: null, level: null, stream: null, color: 'blue', payload: { extra: 1 } },
    ]);
    expect(result).toEqual({
      exitCode: 0,
      signal: null,
      resultJson: { ok: true },
      summary: 'did it',
      // The result line's usage in Heartbeat's spelling (docs/engine.md §13.1).
      usage: { inputTokens: 3, cachedInputTokens: 0, outputTokens: 0, costUsd: null, billingType: 'unknown', provider: null, biller: 'unknown', model: null },
    });
    expect(rec.spawns).toHaveLength(1);
    expect(rec.spawns[0].processGroupId).toBe(rec.spawns[0].pid);
    expect(rec.metas).toEqual([
      {
        adapter: 'process',
        command: process.execPath,
        args: [AGENT, 'stream'],
        cwd: process.cwd(),
        env: { GO_FILE: '***REDACTED***' },
      },
    ]);
  });

  it('passes the run context on stdin and as HEARTBEAT_* environment variables', async () => {
    const rec = agent('context', { cwd: dir, env: { CUSTOM: 'custom-value', HEARTBEAT_RUN_TOKEN: 'forged' } });
    const result = await processAdapter.execute(rec.execution);
    const { stdin, env, cwd } = result.resultJson as Record<string, Record<string, unknown>>;
    expect(stdin).toEqual(RECORDED_INVOCATION);
    expect(env).toEqual({
      CUSTOM: 'custom-value',
      HEARTBEAT_API_URL: 'http://127.0.0.1:4000/graphql',
      // Ids as the API spells them.
      HEARTBEAT_RUN_ID: 'api-run-1',
      HEARTBEAT_RUN_TOKEN: 'hbrt_secret_token', // config cannot forge the run token
      HEARTBEAT_AGENT_ID: 'api-agent-1',
      HEARTBEAT_ISSUE_ID: 'api-issue-1',
      HEARTBEAT_COMPANY_ID: 'api-company-1',
      HEARTBEAT_SESSION_ID: '', // a fresh session
      HEARTBEAT_TASK_FILE: '', // no context.taskMarkdown
    });
    expect(cwd).toBe(dir);
    expect(JSON.stringify(rec.metas)).not.toContain('custom-value');
  });

  it('HEARTBEAT_ISSUE_ID is empty without an issue', async () => {
    const rec = agent('context');
    rec.execution.issueId = null;
    rec.execution.apiIds = { ...rec.execution.apiIds, issueId: null };
    const result = await processAdapter.execute(rec.execution);
    expect((result.resultJson as { env: Record<string, string> }).env.HEARTBEAT_ISSUE_ID).toBe('');
  });

  it('a non-zero exit code fails with a message; a result line can say why', async () => {
    const rec = agent('exit', {}, '7');
    expect(await processAdapter.execute(rec.execution)).toEqual({
      exitCode: 7,
      signal: null,
      errorMessage: 'Process exited with code 7',
    });
    expect(rec.output('stderr')).toBe('boom\n');

    const failing = agent('result-fail');
    expect(await processAdapter.execute(failing.execution)).toEqual({
      exitCode: 2,
      signal: null,
      resultJson: { result: 'partial text' },
      errorMessage: 'quota exceeded',
      errorCode: 'rate_limited',
      errorFamily: 'transient_upstream',
      retryNotBefore: '2030-01-01T00:00:00.000Z',
    });
  });

  it('a child that never reads stdin does not break the run (EPIPE ignored)', async () => {
    const rec = agent('silent');
    rec.execution.context = { big: 'x'.repeat(4 * 1024 * 1024) };
    expect(await processAdapter.execute(rec.execution)).toEqual({ exitCode: 0, signal: null });
  });

  it('timeout kills the whole group and reports timedOut', async () => {
    // Long enough for a loaded machine to start the agent and its grandchild and report both pids
    // before the timeout hits (at 0.5 s it sometimes did not).
    const rec = agent('grandchild', { timeoutSec: 3 });
    const started = Date.now();
    const result = await processAdapter.execute(rec.execution);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_950);
    expect(pidsEvent(rec.events)).toBeDefined();
    expect(result).toMatchObject({
      timedOut: true,
      errorMessage: 'Timed out after 3s',
      errorCode: 'timeout',
      signal: 'SIGTERM',
    });
    const pids = pidsEvent(rec.events)!;
    await waitFor(() => !alive(pids.child) && !alive(pids.grandchild), 'group gone');
  });

  it('cancel kills the whole process group, grandchild included', async () => {
    const rec = agent('grandchild');
    const running = processAdapter.execute(rec.execution);
    const pids = await waitFor(() => pidsEvent(rec.events), 'pids event');
    expect(alive(pids.grandchild)).toBe(true);
    rec.controller.abort();
    const result = await running;
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM', errorCode: 'cancelled' });
    await waitFor(() => !alive(pids.child) && !alive(pids.grandchild), 'grandchild gone');
  });

  it('a child that ignores SIGTERM is SIGKILLed after graceSec', async () => {
    const rec = agent('ignore-term', { graceSec: 1 });
    const running = processAdapter.execute(rec.execution);
    await waitFor(() => rec.events.some((e) => e.type === 'ready'), 'ready event');
    const cancelledAt = Date.now();
    rec.controller.abort();
    const result = await running;
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(900);
    expect(result).toMatchObject({ signal: 'SIGKILL', errorCode: 'cancelled' });
    expect(rec.output('stderr')).toContain('ignoring SIGTERM');
    expect(alive(rec.spawns[0].pid)).toBe(false);
  });

  it('does not wait forever for a descendant that keeps stdout open after the child exits', async () => {
    const rec = agent('orphan');
    try {
      expect(await processAdapter.execute(rec.execution)).toEqual({ exitCode: 0, signal: null });
    } finally {
      const pids = pidsEvent(rec.events);
      if (pids && alive(pids.grandchild)) process.kill(pids.grandchild, 'SIGKILL');
    }
  });

  it('already cancelled: does not spawn', async () => {
    const rec = agent('sleeper');
    rec.controller.abort();
    expect(await processAdapter.execute(rec.execution)).toEqual({
      exitCode: null,
      errorMessage: 'Cancelled',
      errorCode: 'cancelled',
    });
    expect(rec.spawns).toEqual([]);
  });

  it('a missing command resolves adapter_failed instead of throwing', async () => {
    const rec = recordingExecution(processAdapter.parseConfig({ command: join(dir, 'no-such-agent') }));
    const result = await processAdapter.execute(rec.execution);
    expect(result).toMatchObject({ exitCode: null, errorCode: 'adapter_failed' });
    expect(result.errorMessage).toMatch(/^Failed to start process: .*ENOENT/);
    expect(rec.spawns).toEqual([]);
  });

  it('rejects invalid configs with BAD_USER_INPUT naming the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /adapterConfig\.command: Required/],
      [{ command: '' }, /adapterConfig\.command/],
      [{ command: 'x', timeoutSec: -1 }, /adapterConfig\.timeoutSec/],
      [{ command: 'x', graceSec: 'soon' }, /adapterConfig\.graceSec/],
      [{ command: 'x', args: ['ok', 3] }, /adapterConfig\.args\[1\]/],
      [{ command: 'x', env: { A: 1 } }, /adapterConfig\.env\.A/],
      [null, /adapterConfig: /],
    ];
    for (const [config, message] of cases) {
      let error: unknown;
      try {
        processAdapter.parseConfig(config);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HeartbeatError);
      expect((error as HeartbeatError).code).toBe('BAD_USER_INPUT');
      expect((error as HeartbeatError).message).toMatch(message);
    }
    expect(processAdapter.parseConfig({ command: 'x' })).toEqual({ command: 'x' });
    expect(processAdapter.timeoutSec({ command: 'x', timeoutSec: 30 })).toBe(30);
    expect(processAdapter.timeoutSec({ command: 'x' })).toBe(0);
  });
});
