// The session hand-off (docs/engine.md §12.3) and report (§12.4) through real adapters: a fake agent
// CLI under the process adapter replays recorded Claude Code and Codex streams and echoes the session
// it was given; the http adapter sends the same `session` and reads a report off its answer.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpAdapter } from '../../../engine/adapters/http.ts';
import { processAdapter } from '../../../engine/adapters/process.ts';
import type { AdapterEvent } from '../../../engine/adapters/types.ts';
import type { RunSession } from '../../../engine/rules/sessions.ts';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';
import { recordingExecution, waitFor } from '../../fixtures/agents/recording-execution.ts';

import { CLAUDE_SESSION, CLAUDE_STREAM, CODEX_STREAM, CODEX_THREAD, CODEX_USAGE, FAKE_CLI } from '../../fixtures/cli-streams/recorded.ts';

const RESUMED: RunSession = {
  id: CODEX_THREAD,
  params: { sessionId: CODEX_THREAD, cwd: '/home/dev/acme-api' },
  displayId: 'date-fix',
  taskKey: 'issue-1',
};

function fakeCli(streamFile: string, session: RunSession | null, ...extraLines: string[]) {
  const config = processAdapter.parseConfig({ command: process.execPath, args: [FAKE_CLI, streamFile, ...extraLines] });
  return recordingExecution(config, { session });
}

const handoffOf = (events: AdapterEvent[]) => events.find((e) => e.type === 'fake-cli.handoff')?.payload as { envSessionId: string | null; session: unknown };
const recordedTypes = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line).type as string);

describe.concurrent('process adapter: session hand-off and report', () => {
  it('a fresh session: HEARTBEAT_SESSION_ID is empty, stdin `session` is null; Claude Code reports its session id', async () => {
    const rec = fakeCli(CLAUDE_STREAM, null);
    const result = await processAdapter.execute(rec.execution);
    expect(handoffOf(rec.events)).toEqual({ envSessionId: '', session: null });
    expect(result).toMatchObject({
      exitCode: 0,
      resultJson: { result: expect.stringContaining('ISO week') },
      usage: { output_tokens: 311, cache_read_input_tokens: 15000, cachedInputTokens: 15000, costUsd: 0.1234 },
      session: { sessionId: CLAUDE_SESSION },
    });
    // Every message but the result line is an event, in order.
    expect(rec.events.map((e) => e.type)).toEqual(['fake-cli.handoff', ...recordedTypes(CLAUDE_STREAM).slice(0, -1)]);
    expect(rec.output('stdout')).toBe('');
  });

  it('resuming: the session id in HEARTBEAT_SESSION_ID and the session on stdin; Codex reports its thread id', async () => {
    const rec = fakeCli(CODEX_STREAM, RESUMED);
    const result = await processAdapter.execute(rec.execution);
    expect(handoffOf(rec.events)).toEqual({ envSessionId: CODEX_THREAD, session: RESUMED });
    // Codex prints no result line: the session report and turn.completed's usage are all the result holds besides the exit.
    expect(result).toEqual({ exitCode: 0, signal: null, usage: CODEX_USAGE, session: { sessionId: CODEX_THREAD } });
    expect(rec.events.map((e) => e.type)).toEqual(['fake-cli.handoff', ...recordedTypes(CODEX_STREAM)]);
  });

  it("a wrapper's own result line after the CLI's stream has the last word", async () => {
    const clears = fakeCli(CLAUDE_STREAM, null, JSON.stringify({ result: { ok: true }, clearSession: true }));
    expect((await processAdapter.execute(clears.execution)).session).toEqual({ clearSession: true });

    const names = fakeCli(CODEX_STREAM, RESUMED, JSON.stringify({ result: { ok: true }, sessionDisplayId: 'date-fix, round 2' }));
    expect(await processAdapter.execute(names.execution)).toMatchObject({
      resultJson: { ok: true },
      session: { sessionId: CODEX_THREAD, sessionDisplayId: 'date-fix, round 2' },
    });
  });

  it('a cancelled run still reports the session its agent started', async () => {
    const rec = fakeCli(CODEX_STREAM, null);
    rec.execution.config = { ...rec.execution.config, env: { FAKE_CLI_HANG: '1' } };
    const running = processAdapter.execute(rec.execution);
    await waitFor(() => rec.events.some((e) => e.type === 'turn.completed'), 'the replayed stream');
    rec.controller.abort();
    expect(await running).toMatchObject({ errorCode: 'cancelled', session: { sessionId: CODEX_THREAD } });
  });
});

describe('http adapter: session hand-off and report', () => {
  let endpoint: HttpEndpoint;
  const bodies: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    endpoint = await startHttpEndpoint(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(readFileSync(CODEX_STREAM));
    });
  });
  afterAll(() => endpoint?.close());

  it('sends the session in the body and reads the thread id off a Codex stream', async () => {
    const rec = recordingExecution(httpAdapter.parseConfig({ url: `${endpoint.base}/agent` }), { session: RESUMED });
    const result = await httpAdapter.execute(rec.execution);
    expect(bodies.at(-1)?.session).toEqual(RESUMED);
    expect(result).toEqual({ exitCode: 0, usage: CODEX_USAGE, session: { sessionId: CODEX_THREAD } });

    const fresh = recordingExecution(httpAdapter.parseConfig({ url: `${endpoint.base}/agent` }));
    await httpAdapter.execute(fresh.execution);
    expect(bodies.at(-1)).toHaveProperty('session', null);
  });
});
