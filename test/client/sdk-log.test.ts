// The SDK's reads of a run's log against a live server: logWindow and log by offset and limit,
// readLog window by window (from an offset or a tail), followLog over a process agent printing
// lines over time (every line, in order, ending when the run does; aborted at once on a signal),
// and a log removed by retention (a LOG_EXPIRED HeartbeatApiError).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHeartbeatClient, HeartbeatApiError, type HeartbeatClient, type LogWindow } from '../../client/index.ts';
import { createAgent, enqueue, runFinished, runGid } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { ticks } from '../support/agent-output.ts';

const TICKER = fileURLToPath(new URL('../fixtures/agents/ticker-agent.mjs', import.meta.url));


const tickerAgent = (server: TestServer, lines: number, intervalMs: number) =>
  createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [TICKER, String(lines), String(intervalMs)] } });

describe('SDK: run logs', () => {
  let server: TestServer;
  let client: HeartbeatClient;
  let gates: string;
  beforeAll(async () => {
    server = await startTestServer();
    client = createHeartbeatClient({ url: server.graphqlUrl, apiKey: server.adminKey, webSocketImpl: WebSocket });
    gates = await mkdtemp(join(tmpdir(), 'heartbeat-sdk-log-'));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    if (gates) await rm(gates, { recursive: true, force: true });
  });

  it('followLog yields every line of a running run in order, as it comes, and ends when the run ends', async () => {
    // Twenty lines 50 ms apart; after the tenth it waits for its gate, which opens once they were followed.
    const agentId = await tickerAgent(server, 20, 50);
    const gate = join(gates, 'follow');
    const { runId } = await enqueue(server, { agentId, payload: { gate, pauseAfter: 10 } });
    const id = runGid(runId!);

    const windows: LogWindow[] = [];
    let text = '';
    let gateOpen = false;
    let textBeforeGate = '';
    for await (const window of client.followLog(id, { pollMs: 50 })) {
      windows.push(window);
      text += window.text;
      if (!gateOpen && text.includes('tick 9 ✓\n')) {
        textBeforeGate = text;
        gateOpen = true;
        await writeFile(gate, '');
      }
    }
    // Every line once, in order; the first ten while the run was still running (it waited for them).
    expect(text).toBe(ticks(0, 20));
    expect(textBeforeGate).toBe(ticks(0, 10));
    expect(windows.length).toBeGreaterThan(1);
    // Window after window, each from where the last one ended.
    windows.forEach((window, i) => expect(window.offset).toBe(i === 0 ? 0 : windows[i - 1].nextOffset));
    expect(windows.at(-1)!.nextOffset).toBe(Buffer.byteLength(text));
    // It ended because the run did.
    expect((await client.run(id))?.status).toBe('SUCCEEDED');
  });

  it('logWindow and log by offset and limit; readLog window by window, from an offset or its tail', async () => {
    const agentId = await tickerAgent(server, 30, 0);
    const { runId } = await enqueue(server, { agentId });
    await runFinished(server, runId!);
    const id = runGid(runId!);
    const whole = ticks(0, 30);
    const bytes = Buffer.from(whole);

    // `tick 0 ✓\n`: 7 bytes, the check mark's 3, a newline. A window stops before a character it would cut.
    expect(await client.logWindow(id, { limitBytes: 9 })).toEqual({ text: 'tick 0 ', offset: 0, nextOffset: 7, totalBytes: bytes.length, expired: false });
    // From inside the check mark: the window starts after it (and still ends where it was asked to).
    expect(await client.logWindow(id, { offset: 8, limitBytes: 5 })).toMatchObject({ text: '\nti', offset: 10, nextOffset: 13 });
    expect(await client.log(id, { offset: 7, limitBytes: 4 })).toBe('✓\n');
    expect(await client.log(id, { tailBytes: 10 })).toBe('ck 29 ✓\n');
    expect(await client.log(id)).toBe(whole);

    // Small windows: each ends on a character, together they are the log.
    const paged: LogWindow[] = [];
    for await (const window of client.readLog(id, { limitBytes: 7 })) paged.push(window);
    expect(paged.map((w) => w.text).join('')).toBe(whole);
    expect(paged.every((w) => Buffer.byteLength(w.text) === w.nextOffset - w.offset && w.nextOffset - w.offset <= 7)).toBe(true);

    const collect = async (windows: AsyncIterable<LogWindow>) => {
      let text = '';
      for await (const window of windows) text += window.text;
      return text;
    };
    const from = bytes.indexOf('tick 20');
    expect(await collect(client.readLog(id, { fromOffset: from, limitBytes: 16 }))).toBe(ticks(20, 30));
    expect(await collect(client.readLog(id, { tailBytes: Buffer.byteLength(ticks(25, 30)) }))).toBe(ticks(25, 30));
    // Following a finished run: what there is from there, then the end.
    expect(await collect(client.followLog(id, { fromOffset: from }))).toBe(ticks(20, 30));
    await expect(collect(client.readLog(id, { fromOffset: 1, tailBytes: 1 }))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('followLog stops at once when its signal aborts, also while it waits to ask again', async () => {
    const agentId = await tickerAgent(server, 4, 0);
    const gate = join(gates, 'abort');
    const { runId } = await enqueue(server, { agentId, payload: { gate, pauseAfter: 2 } });
    const id = runGid(runId!);
    // Its first two lines stored, it waits at its gate: a follower reads them, then waits a minute to ask again.
    await waitFor('two lines stored', async () => (await client.logWindow(id, { limitBytes: 1 })).totalBytes === Buffer.byteLength(ticks(0, 2)));
    const controller = new AbortController();
    const follow = client.followLog(id, { pollMs: 60_000, signal: controller.signal });
    expect((await follow.next()).value).toMatchObject({ text: ticks(0, 2) });
    const next = follow.next();
    const started = Date.now();
    controller.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(5_000);
    await writeFile(gate, '');
    await runFinished(server, runId!);
  });

  it('a log removed by retention: logWindow says expired, log is null, readLog and followLog throw LOG_EXPIRED', async () => {
    const retained = await startTestServer({ env: { HEARTBEAT_LOG_RETENTION_DAYS: '1' } });
    const sdk = createHeartbeatClient({ url: retained.graphqlUrl, apiKey: retained.adminKey, webSocketImpl: WebSocket });
    try {
      const agentId = await createAgent(retained, { adapterConfig: { steps: [{ log: 'soon gone' }] } });
      const { runId } = await enqueue(retained, { agentId });
      await runFinished(retained, runId!);
      await waitFor('the run settled', async () => (await retained.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.settledAt);
      const id = runGid(runId!);
      expect(await sdk.log(id)).toBe('soon gone\n');
      expect(await retained.app.engine.expireLogs(new Date(Date.now() + 2 * 86_400_000))).toBeGreaterThanOrEqual(1);

      expect(await sdk.logWindow(id)).toMatchObject({ text: '', expired: true });
      expect(await sdk.log(id)).toBeNull();
      for (const windows of [sdk.readLog(id), sdk.followLog(id), sdk.followLog(id, { tailBytes: 100 })]) {
        const error = await (async () => {
          for await (const window of windows) throw new Error(`unexpected window ${JSON.stringify(window)}`);
        })().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(HeartbeatApiError);
        expect(error).toMatchObject({ code: 'LOG_EXPIRED', details: { runId: id, expiredAt: expect.any(String) } });
        expect((error as Error).message).toMatch(/has expired: it was removed by the log retention setting/);
      }
    } finally {
      await sdk.close();
      await retained.close();
    }
  });
});
