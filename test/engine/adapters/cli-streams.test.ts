// Session reports on agent output lines (docs/engine.md §12.4): the recorded Claude Code and Codex
// streams, Heartbeat's own result line, and how LineSink keeps the latest report without changing
// what a line becomes (event, result or log).
import { describe, expect, it } from 'vitest';
import { boundedSessionReport, sessionReportFromLine } from '../../../engine/adapters/cli-streams.ts';
import { classifyLine, LineSink } from '../../../engine/adapters/lines.ts';
import type { AdapterEvent } from '../../../engine/adapters/types.ts';
import { SESSION_DISPLAY_ID_MAX, SESSION_PARAMS_MAX_BYTES } from '../../../engine/rules/sessions.ts';

import { CLAUDE_LINES as CLAUDE, CLAUDE_SESSION, CODEX_LINES as CODEX, CODEX_THREAD } from '../../fixtures/cli-streams/recorded.ts';

const report = (line: string | Record<string, unknown>) => sessionReportFromLine(typeof line === 'string' ? JSON.parse(line) : line);

function sinkOf(lines: string[]) {
  const events: AdapterEvent[] = [];
  const logs: string[] = [];
  const sink = new LineSink({ onEvent: (event) => void events.push(event), onLog: (_stream, chunk) => void logs.push(chunk) });
  sink.lines(lines);
  return { sink, events, logs };
}

describe('recorded CLI streams', () => {
  it('Claude Code stream-json: the init and result lines carry the session id, the messages say nothing new', () => {
    const reports = CLAUDE.map(report);
    const types = CLAUDE.map((line) => JSON.parse(line).type as string);
    expect(types[0]).toBe('system');
    expect(types.at(-1)).toBe('result');
    expect(reports[0]).toEqual({ sessionId: CLAUDE_SESSION });
    expect(reports.at(-1)).toEqual({ sessionId: CLAUDE_SESSION });
    // Assistant and user messages mention the session too, but are not reports.
    expect(reports.slice(1, -1).every((r) => r === null)).toBe(true);
  });

  it('Codex exec --json: thread.started carries the thread id, nothing else does', () => {
    expect(CODEX.map(report)).toEqual([{ sessionId: CODEX_THREAD }, ...CODEX.slice(1).map(() => null)]);
  });

  it('the lines stay what they were: Claude messages are events, its last line the result; Codex lines are events', () => {
    expect(CLAUDE.map((line) => classifyLine(line).kind)).toEqual([...CLAUDE.slice(1).map(() => 'event'), 'result']);
    expect(classifyLine(CLAUDE[0])).toMatchObject({ event: { type: 'system', payload: { subtype: 'init', session_id: CLAUDE_SESSION } } });
    expect(CODEX.map((line) => classifyLine(line).kind)).toEqual(CODEX.map(() => 'event'));

    const claude = sinkOf(CLAUDE);
    expect(claude.events.map((e) => e.type)).toEqual(CLAUDE.slice(0, -1).map((line) => JSON.parse(line).type));
    expect(claude.logs).toEqual([]);
    expect(claude.sink.result).toMatchObject({ resultJson: { result: expect.stringContaining('ISO week') }, usage: { output_tokens: 311, outputTokens: 311 } });
    expect(claude.sink.outcome().session).toEqual({ sessionId: CLAUDE_SESSION });

    const codex = sinkOf(CODEX);
    expect(codex.events).toHaveLength(CODEX.length);
    expect(codex.sink.result).toBeUndefined();
    expect(codex.sink.outcome()).toEqual({ usage: expect.objectContaining({ inputTokens: 24763 }), session: { sessionId: CODEX_THREAD } });
  });

  it("a Claude Code error result (no `result` text: an event) still reports the session, and what it cost", () => {
    const line = { type: 'result', subtype: 'error_max_turns', is_error: true, num_turns: 30, session_id: CLAUDE_SESSION, total_cost_usd: 0.2 };
    expect(classifyLine(JSON.stringify(line)).kind).toBe('event');
    expect(sinkOf([JSON.stringify(line)]).sink.outcome()).toEqual({
      usage: expect.objectContaining({ costUsd: 0.2 }),
      session: { sessionId: CLAUDE_SESSION },
    });
  });
});

describe("Heartbeat's result line", () => {
  it('reads sessionId, sessionParams and sessionDisplayId; the params name their session', () => {
    expect(report({ result: {}, sessionId: 's-1', sessionParams: { cwd: '/w' }, sessionDisplayId: 'fix-login' })).toEqual({
      sessionId: 's-1',
      sessionParams: { cwd: '/w', sessionId: 's-1' },
      sessionDisplayId: 'fix-login',
    });
    // The explicit id wins over one inside the params; an id only in the params is the id.
    expect(report({ result: 1, sessionId: 's-2', sessionParams: { sessionId: 'old' } })).toEqual({ sessionId: 's-2', sessionParams: { sessionId: 's-2' } });
    expect(report({ result: 1, sessionParams: { sessionId: 's-3', model: 'm' } })).toEqual({ sessionId: 's-3', sessionParams: { sessionId: 's-3', model: 'm' } });
  });

  it('reads the snake_case spellings too, and `type: "result"` lines', () => {
    expect(report({ type: 'result', result: 'ok', session_id: 's', session_params: { a: 1 }, session_display_id: 'd' })).toEqual({
      sessionId: 's',
      sessionParams: { a: 1, sessionId: 's' },
      sessionDisplayId: 'd',
    });
    expect(report({ result: null, clear_session: true })).toEqual({ clearSession: true });
  });

  it('clearSession: true clears; anything else says nothing', () => {
    expect(report({ result: {}, clearSession: true })).toEqual({ clearSession: true });
    for (const clearSession of [false, 'true', 1]) expect(report({ result: {}, clearSession })).toBeNull();
  });

  it('ignores what is not a usable value, and lines that are not results', () => {
    expect(report({ result: {} })).toBeNull();
    expect(report({ result: {}, sessionId: '  ', sessionParams: [1], sessionDisplayId: 7 })).toBeNull();
    // Params that name no session cannot be resumed: dropped.
    expect(report({ result: {}, sessionParams: { cwd: '/w' } })).toBeNull();
    // A typed line with a `result` field is an event (a tool result), not the agent's report.
    expect(report({ type: 'tool.result', result: {}, sessionId: 'x' })).toBeNull();
    expect(report({ type: 'status', sessionId: 'x' })).toBeNull();
  });

  it('drops params over SESSION_PARAMS_MAX_BYTES and keeps the id', () => {
    const big = { blob: 'é'.repeat(SESSION_PARAMS_MAX_BYTES / 2) }; // under the limit in characters, over it in bytes
    expect(report({ result: {}, sessionId: 's', sessionParams: big })).toEqual({ sessionId: 's' });
    expect(report({ result: {}, sessionParams: { ...big, sessionId: 'inside' } })).toEqual({ sessionId: 'inside' });
    const fits = { blob: 'x'.repeat(SESSION_PARAMS_MAX_BYTES - 100) };
    expect(report({ result: {}, sessionId: 's', sessionParams: fits })?.sessionParams).toEqual({ ...fits, sessionId: 's' });
  });

  it('cuts a display id to SESSION_DISPLAY_ID_MAX without splitting a character', () => {
    expect(report({ result: {}, sessionDisplayId: 'd'.repeat(500) })).toEqual({ sessionDisplayId: 'd'.repeat(SESSION_DISPLAY_ID_MAX) });
    const emoji = 'd'.repeat(SESSION_DISPLAY_ID_MAX - 1) + '😀';
    expect(boundedSessionReport({ displayId: emoji })).toEqual({ sessionDisplayId: 'd'.repeat(SESSION_DISPLAY_ID_MAX - 1) });
  });
});

describe('LineSink: the session report a run leaves', () => {
  const line = (value: Record<string, unknown>) => JSON.stringify(value);
  const init = line({ type: 'system', subtype: 'init', session_id: 'from-init' });

  it('an explicit report on the result line wins over an earlier event', () => {
    expect(sinkOf([init, line({ result: {}, sessionId: 'from-result' })]).sink.outcome().session).toEqual({ sessionId: 'from-result' });
    expect(sinkOf([init, line({ result: {}, clearSession: true })]).sink.outcome().session).toEqual({ clearSession: true });
  });

  it('a result line that only adds a display id keeps the session an event reported', () => {
    expect(sinkOf([init, line({ result: {}, sessionDisplayId: 'nice name' })]).sink.outcome().session).toEqual({ sessionId: 'from-init', sessionDisplayId: 'nice name' });
  });

  it('the latest event wins among events; a result line saying nothing leaves it', () => {
    const thread = line({ type: 'thread.started', thread_id: 'thread-2' });
    const { sink } = sinkOf([init, thread, line({ result: { ok: true } })]);
    expect(sink.outcome()).toEqual({ resultJson: { ok: true }, session: { sessionId: 'thread-2' } });
  });

  it('a later result line replaces an earlier one, its report included', () => {
    const { sink } = sinkOf([init, line({ result: 1, sessionId: 'first' }), line({ result: 2 })]);
    expect(sink.outcome()).toEqual({ resultJson: { result: 2 }, session: { sessionId: 'from-init' } });
  });

  it('no report at all: the outcome has no session key', () => {
    expect(sinkOf(['plain log', line({ type: 'tool.call' }), line({ result: 1 })]).sink.outcome()).toEqual({ resultJson: { result: 1 } });
  });

  it('log lines never report, even when they look like reports', () => {
    // `error` is one of the engine's own event types: the line is log output, not a report.
    const { sink, logs } = sinkOf([line({ type: 'error', result: 1, sessionId: 'forged' }), '{"session_id": "x", "type": "system", "subtype": "init"']);
    expect(logs).toHaveLength(1);
    expect(sink.outcome()).toEqual({});
  });
});
