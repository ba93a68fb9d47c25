// The claude_code and codex adapters without a database: their command lines, config validation,
// the prompt, how their CLIs' recorded streams become run events and a result, and (with real child
// processes: the fake CLIs and a plain process agent) stdin, exit codes and the task file.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeCodeAdapter, claudeCommandLine, ClaudeStreamMapper } from '../../../engine/adapters/claude-code.ts';
import { CLI_TEXT_MAX, cliErrorResult, runPrompt, upstreamErrorKind, WAKE_CONTEXT_MAX, wakePrompt } from '../../../engine/adapters/coding-cli.ts';
import { codexAdapter, codexCommandLine, CodexStreamMapper } from '../../../engine/adapters/codex.ts';
import { type LineMapper, LineSink } from '../../../engine/adapters/lines.ts';
import { processAdapter } from '../../../engine/adapters/process.ts';
import type { AdapterEvent, LogStream } from '../../../engine/adapters/types.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { fakeCliRecords, installFakeClis } from '../../fixtures/agents/fake-coding-clis.ts';
import { recordingExecution, waitFor } from '../../fixtures/agents/recording-execution.ts';
import { CLAUDE_FINAL_TEXT, CLAUDE_MODEL, CLAUDE_SESSION, CODEX_FINAL_TEXT, CODEX_THREAD, STREAMS, streamLines } from '../../fixtures/cli-streams/recorded.ts';

const SESSION = { id: 'sess-1', params: { sessionId: 'sess-1' }, displayId: null, taskKey: 'issue-1' };

describe('command lines', () => {
  it('Claude Code: print mode with stream-json and --verbose, the prompt last after --', () => {
    expect(claudeCommandLine({ command: 'claude' }, { session: null, prompt: 'Fix it' })).toEqual({
      command: 'claude',
      args: ['-p', '--output-format', 'stream-json', '--verbose', '--', 'Fix it'],
    });
    // Resume, model, max turns, then extraArgs, in that order; a prompt starting with "-" stays an operand.
    const full = claudeCommandLine(
      { command: '/opt/claude', model: 'claude-sonnet-4-5', maxTurns: 30, extraArgs: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', 'Read'] },
      { session: SESSION, prompt: '- fix the parser' },
    );
    expect(full).toEqual({
      command: '/opt/claude',
      args: [
        '-p', '--output-format', 'stream-json', '--verbose',
        '--resume', 'sess-1',
        '--model', 'claude-sonnet-4-5',
        '--max-turns', '30',
        '--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', 'Read',
        '--', '- fix the parser',
      ],
    });
  });

  it('Codex: exec --json, model and extraArgs before `resume <id>`, the prompt last after --', () => {
    expect(codexCommandLine({ command: 'codex' }, { session: null, prompt: 'Fix it' })).toEqual({ command: 'codex', args: ['exec', '--json', '--', 'Fix it'] });
    expect(codexCommandLine({ command: 'codex', model: 'gpt-5-codex', extraArgs: ['--sandbox', 'workspace-write', '--skip-git-repo-check'] }, { session: SESSION, prompt: 'resume' })).toEqual({
      command: 'codex',
      args: ['exec', '--json', '--model', 'gpt-5-codex', '--sandbox', 'workspace-write', '--skip-git-repo-check', 'resume', 'sess-1', '--', 'resume'],
    });
  });
});

function parseError(parse: () => unknown): HeartbeatError {
  try {
    parse();
  } catch (error) {
    if (error instanceof HeartbeatError) return error;
    throw error;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('defaults the command to the CLI on PATH, and keeps what is given', () => {
    expect(claudeCodeAdapter.parseConfig({})).toEqual({ command: 'claude' });
    expect(codexAdapter.parseConfig({})).toEqual({ command: 'codex' });
    const full = { command: '/usr/local/bin/claude', model: 'opus', cwd: '/work', env: { ANTHROPIC_API_KEY: 'k' }, extraArgs: ['--verbose'], timeoutSec: 600, graceSec: 5, maxTurns: 20 };
    expect(claudeCodeAdapter.parseConfig(full)).toEqual(full);
    expect(claudeCodeAdapter.timeoutSec(claudeCodeAdapter.parseConfig(full))).toBe(600);
    expect(claudeCodeAdapter.localChild && codexAdapter.localChild).toBe(true);
  });

  it('refuses bad and unknown fields with BAD_USER_INPUT naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ maxTurns: 0 }, 'adapterConfig.maxTurns'],
      [{ maxTurns: 2.5 }, 'adapterConfig.maxTurns'],
      [{ maxTurns: '3' }, 'adapterConfig.maxTurns'],
      [{ maxTurn: 3 }, 'adapterConfig.maxTurn'],
      [{ command: '' }, 'adapterConfig.command'],
      [{ model: 7 }, 'adapterConfig.model'],
      [{ extraArgs: ['--ok', 1] }, 'adapterConfig.extraArgs[1]'],
      [{ extraArgs: '--verbose' }, 'adapterConfig.extraArgs'],
      [{ env: { 'HEARTBEAT_RUN_TOKEN=forged': 'x' } }, 'adapterConfig.env.HEARTBEAT_RUN_TOKEN=forged'],
      [{ timeoutSec: -1 }, 'adapterConfig.timeoutSec'],
      [{ graceSec: 'soon' }, 'adapterConfig.graceSec'],
      [{ cwd: '' }, 'adapterConfig.cwd'],
      [{ args: ['-p'] }, 'adapterConfig.args'],
    ];
    for (const adapter of [claudeCodeAdapter, codexAdapter]) {
      for (const [config, field] of cases) {
        if (adapter === codexAdapter && field === 'adapterConfig.maxTurns') continue;
        const error = parseError(() => adapter.parseConfig(config));
        expect(error.code, JSON.stringify(config)).toBe('BAD_USER_INPUT');
        expect(error.message, JSON.stringify(config)).toContain(`${field}:`);
      }
    }
  });

  it('Codex refuses maxTurns: codex exec has no turn limit', () => {
    const error = parseError(() => codexAdapter.parseConfig({ maxTurns: 5 }));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe('adapterConfig.maxTurns: codex exec has no turn limit (no --max-turns flag); bound the run with timeoutSec instead');
  });
});

describe('the prompt', () => {
  it('is the task text when the run has one, then the session handoff', () => {
    const taskMarkdown = '# ACME-12: Fix ISO weeks\n\n- 2025-01-01 is 2025-W01';
    expect(runPrompt({ taskMarkdown, wakeReason: 'issue_assigned', issueId: 'i-1' })).toBe(taskMarkdown);
    expect(runPrompt({ taskMarkdown, sessionHandoff: 'Session rotated: continue from the summary.' })).toBe(`${taskMarkdown}\n\nSession rotated: continue from the summary.`);
  });

  it('without a task text: the wake reason and what the wake carries, without the engine keys, bounded', () => {
    const context = {
      wakeReason: 'deploy_requested',
      wakeSource: 'on_demand',
      taskKey: 'deploy',
      payload: { environment: 'staging', ref: 'v1.4.2' },
      session: { id: 's', params: { sessionId: 's' } },
      sessionHandoff: 'Previous session: s.',
      taskMarkdown: '  ',
      _deferredWakeContext: { x: 1 },
    };
    const prompt = runPrompt(context);
    expect(prompt).toBe(
      ['Heartbeat woke you (reason: deploy_requested).', '', 'The wake carries (JSON):', JSON.stringify({ payload: context.payload }, null, 2), '', 'Previous session: s.'].join('\n'),
    );
    expect(wakePrompt({})).toBe('Heartbeat woke you.');
    const huge = wakePrompt({ wakeReason: 'x', payload: { blob: 'y'.repeat(50_000) } });
    expect(huge.length).toBeLessThan(WAKE_CONTEXT_MAX + 200);
    expect(huge.endsWith('...')).toBe(true);
  });
});

/** Feeds lines through a sink with `mapper`, as the process adapter would, and keeps what came out. */
function readStream(mapper: LineMapper, lines: string[]) {
  const events: AdapterEvent[] = [];
  const logs: Array<{ stream: LogStream; chunk: string }> = [];
  const sink = new LineSink({ onEvent: (e) => events.push(e), onLog: (stream, chunk) => logs.push({ stream, chunk }) }, 'stdout', mapper);
  sink.lines(lines);
  return { events, logs, outcome: sink.outcome() };
}

describe('Claude Code stream mapping', () => {
  it('a session with tool use: messages, tool calls and results as events; the result text is the summary', () => {
    const { events, outcome, logs } = readStream(new ClaudeStreamMapper(), streamLines(STREAMS.claude));
    expect(events.map((e) => e.type)).toEqual(['system', 'assistant.message', 'tool.call', 'tool.result', 'tool.call', 'tool.result', 'assistant.message']);
    expect(events[1]).toMatchObject({ message: "I'll run the test suite first to see what fails." });
    expect(events[2]).toMatchObject({
      message: 'Bash',
      payload: { tool: 'Bash', id: 'toolu_01Qm7Zr4Xv8Nf2Kd5Tb9Lw3e', input: { command: 'npm test -- --run src/date.test.ts', description: 'Run the date tests' } },
    });
    expect(events[3]).toMatchObject({ message: 'Bash', level: 'warn', payload: { tool: 'Bash', isError: true, content: expect.stringContaining('FAIL src/date.test.ts') } });
    expect(events[5]).toMatchObject({ message: 'Edit', level: 'info', payload: { isError: false, content: 'The file /home/dev/acme-api/src/date.ts has been updated.' } });
    expect(events[6].message).toBe(CLAUDE_FINAL_TEXT);
    expect(logs).toEqual([]);
    expect(outcome).toMatchObject({
      summary: CLAUDE_FINAL_TEXT,
      resultJson: { result: CLAUDE_FINAL_TEXT, subtype: 'success', is_error: false, num_turns: 5 },
      session: { sessionId: CLAUDE_SESSION },
      usage: { costUsd: 0.1234, cachedInputTokens: 15_000, model: CLAUDE_MODEL, provider: 'anthropic' },
    });
    expect(outcome.errorMessage).toBeUndefined();
  });

  it('an error result fails the run as agent_error with the CLI message; a rate limit as transient_upstream', () => {
    const error = readStream(new ClaudeStreamMapper(), streamLines(STREAMS.claudeError)).outcome;
    expect(error).toMatchObject({ errorMessage: 'Reached maximum number of turns (2)', errorCode: 'agent_error', resultJson: { subtype: 'error_max_turns' } });
    expect(error.errorFamily).toBeUndefined();
    expect(error.usage).toMatchObject({ costUsd: 0.0312 });

    const limited = readStream(new ClaudeStreamMapper(), streamLines(STREAMS.claudeRateLimit));
    expect(limited.outcome).toMatchObject({ errorCode: 'upstream_rate_limited', errorFamily: 'transient_upstream', errorMessage: expect.stringContaining('rate_limit_error') });
    expect(limited.outcome.summary).toBeUndefined();
    // What the CLI said is still an event.
    expect(limited.events.map((e) => e.type)).toEqual(['system', 'assistant.message']);
  });

  it('bounds what it reports: text, tool input and output at 4,096 characters', () => {
    const long = 'x'.repeat(10_000);
    const lines = [
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: long }, { type: 'thinking', thinking: 'hmm' }, { type: 'tool_use', id: 't1', name: 'Write', input: { content: long } }] } }),
      JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: long }, { type: 'image' }] }] } }),
      'not json at all',
      JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: long }),
    ];
    const { events, outcome, logs } = readStream(new ClaudeStreamMapper(), lines);
    expect(events.map((e) => e.type)).toEqual(['assistant.message', 'tool.call', 'tool.result']);
    expect(events[0].message!.length).toBe(CLI_TEXT_MAX);
    expect(events[0].payload).toEqual({ truncated: true, chars: 10_000 });
    expect(events[1].payload).toMatchObject({ tool: 'Write', inputTruncated: true });
    expect((events[1].payload as { input: string }).input.length).toBe(CLI_TEXT_MAX);
    expect(events[2]).toMatchObject({ message: 'Write', payload: { contentTruncated: true } });
    expect((events[2].payload as { content: string }).content.length).toBe(CLI_TEXT_MAX);
    expect(outcome.summary!.length).toBe(CLI_TEXT_MAX);
    expect(logs).toEqual([{ stream: 'stdout', chunk: 'not json at all\n' }]);
  });
});

describe('Codex stream mapping', () => {
  it('a turn with commands and a file change: tool calls and results, the last agent message is the summary', () => {
    const { events, outcome } = readStream(new CodexStreamMapper(), streamLines(STREAMS.codex));
    expect(events.map((e) => [e.type, e.message])).toEqual([
      ['thread.started', null],
      ['assistant.reasoning', '**Running the failing date test**'],
      ['tool.call', 'command_execution'],
      ['tool.result', 'command_execution'],
      ['tool.call', 'file_change'],
      ['tool.result', 'file_change'],
      ['tool.call', 'command_execution'],
      ['tool.result', 'command_execution'],
      ['assistant.message', CODEX_FINAL_TEXT],
    ]);
    expect(events[2].payload).toMatchObject({ id: 'item_1', input: { command: "bash -lc 'npm test -- --run src/date.test.ts'" } });
    expect(events[3]).toMatchObject({ level: 'warn', payload: { id: 'item_1', isError: true, exitCode: 1, content: expect.stringContaining('Received: 2024-W53') } });
    expect(events[5].payload).toMatchObject({ isError: false, content: 'update src/date.ts' });
    expect(events[7].payload).toMatchObject({ isError: false, exitCode: 0 });
    expect(outcome).toMatchObject({
      summary: CODEX_FINAL_TEXT,
      resultJson: { result: CODEX_FINAL_TEXT },
      session: { sessionId: CODEX_THREAD },
      usage: { inputTokens: 24763, cachedInputTokens: 24448, outputTokens: 122, provider: 'openai', cumulative: true },
    });
  });

  it('a failed turn is agent_error with its message; a rate limit transient_upstream; an error event alone still fails', () => {
    const failed = readStream(new CodexStreamMapper(), streamLines(STREAMS.codexError));
    expect(failed.outcome).toMatchObject({ errorCode: 'agent_error', errorMessage: expect.stringContaining("The 'gpt-9' model is not supported") });
    expect(failed.events.filter((e) => e.type === 'agent.error')).toHaveLength(2);

    const limited = readStream(new CodexStreamMapper(), streamLines(STREAMS.codexRateLimit)).outcome;
    expect(limited).toMatchObject({ errorCode: 'upstream_rate_limited', errorFamily: 'transient_upstream', errorMessage: 'exceeded retry limit, last status: 429 Too Many Requests' });

    const cut = readStream(new CodexStreamMapper(), [streamLines(STREAMS.codexRateLimit)[0], JSON.stringify({ type: 'error', message: 'stream error: 529 overloaded' })]).outcome;
    expect(cut).toMatchObject({ errorCode: 'upstream_overloaded', errorFamily: 'transient_upstream' });
    // A non-fatal error item is a warning, not the run's failure.
    const warned = readStream(new CodexStreamMapper(), [JSON.stringify({ type: 'item.completed', item: { id: 'e', type: 'error', message: 'skills budget' } }), JSON.stringify({ type: 'turn.completed', usage: {} })]);
    expect(warned.events).toEqual([{ type: 'agent.warning', level: 'warn', message: 'skills budget' }]);
    expect(warned.outcome.errorMessage).toBeUndefined();
  });
});

describe('upstream errors', () => {
  it('rate limits and overload are transient_upstream; anything else agent_error', () => {
    expect(upstreamErrorKind('API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe('overloaded');
    expect(upstreamErrorKind('API Error: {"type":"error","error":{"type":"rate_limit_error","message":"Rate limit exceeded"}}')).toBe('rate_limited');
    expect(upstreamErrorKind('unexpected status 503 Service Unavailable')).toBe('overloaded');
    expect(upstreamErrorKind("We're currently experiencing high demand, which may cause temporary errors.")).toBe('overloaded');
    expect(upstreamErrorKind("You've hit your usage limit. Try again later.")).toBe('rate_limited');
    expect(upstreamErrorKind('Request failed', { status: 429 })).toBe('rate_limited');
    expect(upstreamErrorKind('API Error', { category: 'rate_limit' })).toBe('rate_limited');
    expect(upstreamErrorKind('unexpected status 401 Unauthorized: token expired')).toBeNull();
    expect(upstreamErrorKind('Error at src/parse.ts:429')).toBeNull();
    expect(cliErrorResult('Permission denied')).toEqual({ errorMessage: 'Permission denied', errorCode: 'agent_error' });
    // Claude Code's subscription limit names when it lifts: the retry waits for it.
    expect(cliErrorResult('Claude AI usage limit reached|1767225600')).toEqual({
      errorMessage: 'Claude AI usage limit reached|1767225600',
      errorCode: 'upstream_rate_limited',
      errorFamily: 'transient_upstream',
      retryNotBefore: '2026-01-01T00:00:00.000Z',
    });
  });
});

// One at a time: the last test looks for task directories left in the temp folder.
describe('coding CLIs as child processes', () => {
  let dir: string;
  let clis: { claude: string; codex: string };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-coding-cli-'));
    clis = await installFakeClis(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const record = () => join(dir, `${Math.random().toString(36).slice(2)}.record`);

  it('Claude Code: the prompt as an argument, nothing on stdin, the stream read into events and the result', async () => {
    const file = record();
    const rec = recordingExecution(claudeCodeAdapter.parseConfig({ command: clis.claude, model: 'opus', maxTurns: 3, env: { FAKE_CLI_RECORD: file, FAKE_CLI_STREAM: STREAMS.claude } }), {
      session: SESSION,
    });
    const result = await claudeCodeAdapter.execute(rec.execution);
    const [started] = await fakeCliRecords(file);
    const prompt = runPrompt(rec.execution.context);
    expect(started.argv).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--resume', 'sess-1', '--model', 'opus', '--max-turns', '3', '--', prompt]);
    expect(started.stdin).toBe('');
    expect(started.env).toMatchObject({ HEARTBEAT_SESSION_ID: 'sess-1', HEARTBEAT_TASK_FILE: '' });
    expect(result).toMatchObject({ exitCode: 0, summary: CLAUDE_FINAL_TEXT, session: { sessionId: 'sess-1' } });
    expect(result.errorMessage).toBeUndefined();
    expect(rec.events.filter((e) => e.type.startsWith('tool.')).map((e) => e.type)).toEqual(['tool.call', 'tool.result', 'tool.call', 'tool.result']);
    expect(rec.metas).toEqual([{ adapter: 'claude_code', command: clis.claude, args: started.argv, cwd: process.cwd(), env: { FAKE_CLI_RECORD: '***REDACTED***', FAKE_CLI_STREAM: '***REDACTED***' } }]);
  });

  it('Codex: an error result exits 1 and fails with the CLI message, not the exit code', async () => {
    const file = record();
    const rec = recordingExecution(codexAdapter.parseConfig({ command: clis.codex, env: { FAKE_CLI_RECORD: file, FAKE_CLI_STREAM: STREAMS.codexError } }));
    const result = await codexAdapter.execute(rec.execution);
    expect(result).toMatchObject({ exitCode: 1, errorCode: 'agent_error', errorMessage: expect.stringContaining('gpt-9'), session: { sessionId: '019a3c61-8d2e-7b40-a5f3-2e9c7d1b4a86' } });
    const [started] = await fakeCliRecords(file);
    expect(started.argv).toEqual(['exec', '--json', '--', runPrompt(rec.execution.context)]);
    expect(started.stdin).toBe('');
  });

  it('a non-zero exit without a result line is the process adapter’s exit error', async () => {
    for (const [adapter, command] of [[claudeCodeAdapter, clis.claude], [codexAdapter, clis.codex]] as const) {
      const rec = recordingExecution(adapter.parseConfig({ command, env: { FAKE_CLI_STREAM: STREAMS.empty, FAKE_CLI_EXIT: '3' } }));
      expect(await adapter.execute(rec.execution)).toEqual({ exitCode: 3, signal: null, errorMessage: 'Process exited with code 3' });
    }
  });

  it('a CLI that is not installed is a spawn failure', async () => {
    const rec = recordingExecution(claudeCodeAdapter.parseConfig({ env: { PATH: dir + '/nowhere' } }));
    expect(await claudeCodeAdapter.execute(rec.execution)).toMatchObject({ exitCode: null, errorCode: 'adapter_failed', errorMessage: expect.stringContaining('Failed to start process') });
  });

  it('the task file: 0600 in a fresh directory, named by HEARTBEAT_TASK_FILE, removed when the run ends', async () => {
    const taskMarkdown = '# ACME-7: Fix ISO weeks\n\n- 2025-01-01 is 2025-W01\n';
    const file = record();
    const rec = recordingExecution(claudeCodeAdapter.parseConfig({ command: clis.claude, env: { FAKE_CLI_RECORD: file, FAKE_CLI_STREAM: STREAMS.claude } }));
    rec.execution.context = { ...rec.execution.context, taskMarkdown };
    await claudeCodeAdapter.execute(rec.execution);
    const [started] = await fakeCliRecords(file);
    expect(started.prompt).toBe(taskMarkdown);
    expect(started.taskFile).toEqual({ path: started.env.HEARTBEAT_TASK_FILE, text: taskMarkdown, mode: 0o600, dirMode: 0o700 });
    expect(existsSync(started.env.HEARTBEAT_TASK_FILE!)).toBe(false);
    expect(existsSync(join(started.env.HEARTBEAT_TASK_FILE!, '..'))).toBe(false);
  });

  it('the task file reaches a plain process agent too, and goes when the run is cancelled or fails to start', async () => {
    const script = `const fs = require('fs'); const p = process.env.HEARTBEAT_TASK_FILE;
      console.log(JSON.stringify({ type: 'task', payload: { path: p, text: fs.readFileSync(p, 'utf8') } }));
      setInterval(() => {}, 60000);`;
    const rec = recordingExecution(processAdapter.parseConfig({ command: process.execPath, args: ['-e', script] }));
    rec.execution.context = { ...rec.execution.context, taskMarkdown: 'Do the thing' };
    const running = processAdapter.execute(rec.execution);
    const task = await waitFor(() => rec.events.find((e) => e.type === 'task')?.payload as { path: string; text: string } | undefined, 'the task event');
    expect(task.text).toBe('Do the thing');
    rec.controller.abort();
    expect(await running).toMatchObject({ errorCode: 'cancelled' });
    expect(existsSync(task.path)).toBe(false);

    const failing = recordingExecution(processAdapter.parseConfig({ command: join(dir, 'no-such-agent') }));
    failing.execution.context = { ...failing.execution.context, taskMarkdown: 'Do the thing' };
    const before = new Set(await readdir(tmpdir()));
    expect(await processAdapter.execute(failing.execution)).toMatchObject({ errorCode: 'adapter_failed' });
    const after = await readdir(tmpdir());
    expect(after.filter((name) => name.startsWith('heartbeat-task-') && !before.has(name))).toEqual([]);
  });
});
