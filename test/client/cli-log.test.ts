// `heartbeat runs log` against a live server, as real processes: a log larger than one window (1 MiB)
// printed exactly, window by window; its tail, of any size; --follow of a running run, from the
// start or from its tail, until the run ends; and a log removed by retention, a clear message and a
// non-zero exit.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, runFinished, runGid } from '../support/api.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { chattyLog, lastBytes, ticks } from '../support/agent-output.ts';

const CHATTY = fileURLToPath(new URL('../fixtures/agents/chatty-agent.mjs', import.meta.url));
const TICKER = fileURLToPath(new URL('../fixtures/agents/ticker-agent.mjs', import.meta.url));




/** The `heartbeat` binary with this server's URL and key: stdout and stderr apart, decoded whole (a chunk may cut a character). */
function start(server: TestServer, args: string[]) {
  const child = spawnHeartbeat(args, { HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  return {
    process: child,
    result: async () => ({ code: await child.exited, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }),
  };
}
const heartbeat = (server: TestServer, args: string[]) => start(server, args).result();

// Each command is a child process (a second or more under a busy suite).
describe('heartbeat runs log', { timeout: 120_000 }, () => {
  let server: TestServer;
  let gates: string;
  beforeAll(async () => {
    server = await startTestServer();
    gates = await mkdtemp(join(tmpdir(), 'heartbeat-cli-log-'));
  });
  afterAll(async () => {
    await server?.close();
    if (gates) await rm(gates, { recursive: true, force: true });
  });

  it('prints a log larger than one window exactly, window by window; its tail of any size; --json whole', async () => {
    const lines = 70_000;
    const agentId = await createAgent(server, { name: 'cli-log-chatty', adapterType: 'process', adapterConfig: { command: process.execPath, args: [CHATTY, String(lines)] } });
    const { runId } = await enqueue(server, { agentId });
    expect((await runFinished(server, runId!)).status).toBe('succeeded');
    const id = runGid(runId!);
    const stdout = chattyLog(lines, 'stdout');
    expect(Buffer.byteLength(stdout)).toBeGreaterThan(2.5 * 1024 * 1024); // three windows and a bit

    // One stream: exactly what the agent printed (the server serves at most 1 MiB a request).
    expect(await heartbeat(server, ['runs', 'log', id, '--stream', 'stdout'])).toEqual({ code: 0, stdout, stderr: '' });
    // Both streams, interleaved as the pipes delivered them: the stored log, byte for byte.
    const whole = await heartbeat(server, ['runs', 'log', id]);
    expect(whole).toMatchObject({ code: 0, stderr: '' });
    const { run } = await gql(server, 'query($id: ID!) { run(id: $id) { logBytes logSha256 } }', { id });
    expect(Buffer.byteLength(whole.stdout)).toBe(run.logBytes);
    expect(createHash('sha256').update(whole.stdout).digest('hex')).toBe(run.logSha256);

    // The tail: a few bytes (starting at a whole character), and more than one window.
    expect(await heartbeat(server, ['runs', 'log', id, '--stream', 'stdout', '--tail', '1000'])).toEqual({ code: 0, stdout: lastBytes(stdout, 1000), stderr: '' });
    const bigTail = await heartbeat(server, ['runs', 'log', id, '--stream', 'stdout', '--tail', '2000000']);
    expect(bigTail).toEqual({ code: 0, stdout: lastBytes(stdout, 2_000_000), stderr: '' });

    const json = await heartbeat(server, ['runs', 'log', id, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ id, log: whole.stdout, expired: false });
  });

  it('--follow prints a running run’s output as it comes and exits when the run ends', async () => {
    const agentId = await createAgent(server, { name: 'cli-log-ticker', adapterType: 'process', adapterConfig: { command: process.execPath, args: [TICKER, '20', '20'] } });
    const gate = join(gates, 'follow');
    const { runId } = await enqueue(server, { agentId, payload: { gate, pauseAfter: 10 } });
    const id = runGid(runId!);

    const follower = start(server, ['runs', 'log', id, '--follow']);
    // The first ten lines while the run waits at its gate: the command is still following.
    await follower.process.waitFor(/tick 9 ✓\n/);
    expect(follower.process.child.exitCode).toBeNull();
    await writeFile(gate, '');
    expect(await follower.result()).toEqual({ code: 0, stdout: ticks(0, 20), stderr: '' });
    expect((await runFinished(server, runId!)).status).toBe('succeeded');

    // Of a finished run: what there is, then it ends; --json, one window a line.
    expect(await heartbeat(server, ['runs', 'log', id, '-f'])).toEqual({ code: 0, stdout: ticks(0, 20), stderr: '' });
    const json = await heartbeat(server, ['runs', 'log', id, '--follow', '--json']);
    expect(json.code).toBe(0);
    const windows = json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(windows.map((w) => w.text).join('')).toBe(ticks(0, 20));
    expect(windows[0]).toMatchObject({ offset: 0, expired: false, totalBytes: Buffer.byteLength(ticks(0, 20)) });
  });

  it('--follow --tail starts at the tail of a running run’s log', async () => {
    const agentId = await createAgent(server, { name: 'cli-log-tail', adapterType: 'process', adapterConfig: { command: process.execPath, args: [TICKER, '20', '10'] } });
    const gate = join(gates, 'tail');
    const { runId } = await enqueue(server, { agentId, payload: { gate, pauseAfter: 10 } });
    const id = runGid(runId!);
    // Wait until its first ten lines are stored: it waits at its gate then, its log is still.
    const size = Buffer.byteLength(ticks(0, 10));
    await waitFor('the first ten lines stored', async () => (await gql(server, 'query($id: ID!) { run(id: $id) { logWindow(limitBytes: 1) { totalBytes } } }', { id })).run.logWindow.totalBytes === size);

    const follower = start(server, ['runs', 'log', id, '--follow', '--tail', String(Buffer.byteLength(ticks(8, 10)))]);
    await follower.process.waitFor(/tick 9 ✓\n/);
    await writeFile(gate, '');
    expect(await follower.result()).toEqual({ code: 0, stdout: ticks(8, 20), stderr: '' });
  });

  it('a log removed by retention: a clear message on stderr and a non-zero exit', async () => {
    const retained = await startTestServer({ env: { HEARTBEAT_LOG_RETENTION_DAYS: '1' } });
    try {
      const agentId = await createAgent(retained, { name: 'cli-log-expired', adapterConfig: { steps: [{ log: 'soon gone' }] } });
      const { runId } = await enqueue(retained, { agentId });
      await runFinished(retained, runId!);
      const id = runGid(runId!);
      expect(await heartbeat(retained, ['runs', 'log', id])).toEqual({ code: 0, stdout: 'soon gone\n', stderr: '' });
      // Only a settled run's log is removed.
      await waitFor('the run settled', async () => (await retained.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.settledAt);
      expect(await retained.app.engine.expireLogs(new Date(Date.now() + 2 * 86_400_000))).toBeGreaterThanOrEqual(1);

      const expired = /^heartbeat: the log of run \S+ has expired: it was removed by the log retention setting on \S+\n$/;
      const plain = await heartbeat(retained, ['runs', 'log', id]);
      expect(plain).toMatchObject({ code: 1, stdout: '' });
      expect(plain.stderr).toMatch(expired);
      expect(plain.stderr).toContain(id);
      const followed = await heartbeat(retained, ['runs', 'log', id, '--follow']);
      expect(followed).toMatchObject({ code: 1, stdout: '' });
      expect(followed.stderr).toMatch(expired);
      const json = await heartbeat(retained, ['runs', 'log', id, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ id, log: null, expired: true });
      expect(json.stderr).toMatch(expired);
    } finally {
      await retained.close();
    }
  });
});
