// Stopping the real server the way people and supervisors do: Ctrl-C (SIGINT) or SIGTERM to its whole
// process group, through `npm start` (npm relays signals to its script, so the server may receive one
// twice) or the `heartbeat` binary (one process). The run in flight
// finishes, the API answers until the port closes, the embedded PostgreSQL (in a process group of its
// own) stops last, and a restart works at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL } from '../support/graphql.ts';
import { processesMentioning } from '../support/process.ts';
import { waitFor } from '../support/wait.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(repoRoot, 'bin/heartbeat.js');
const KEY = 'hb_clean_stop_bootstrap_key_000000000001';
/** Longer than the run below: the drain waits for it. */
const GRACE_MS = 20_000;
const RUN_MS = 2_000;
/** The server's window for relayed signals (server/cli.ts). */
const RELAY_WINDOW_MS = 2_000;

/**
 * `npm start` (npm -> the `heartbeat` binary, which the script's shell execs), or the binary itself
 * (tsx loaded in-process). Either exits 0 after a clean stop: npm waits for its script and exits with it.
 */
type Via = 'npm' | 'bin';
const cleanExit = (_via: Via, _signal: NodeJS.Signals) => 0;

interface LogLine {
  msg: string;
  signal?: string;
  [key: string]: unknown;
}

interface Server {
  /** Leader of the server's process group: npm, or the server itself. */
  child: ChildProcess;
  output(): string;
  logs(): LogLine[];
  /** The leader's exit code or signal. */
  exited: Promise<number | string>;
  /** Every writer of the output pipes (the whole group) has exited. */
  outputClosed: Promise<void>;
  graphqlUrl: string;
}

let dir: string;
let env: Record<string, string | undefined>;
let port: number;
const started: Server[] = [];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port: free } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/** Whether `port` can be bound on 127.0.0.1 right now (it is then released again). */
async function portIsFree(candidate: number): Promise<boolean> {
  const server = net.createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port: candidate, host: '127.0.0.1', exclusive: true }, () => resolve(true));
  });
  if (bound) await new Promise((resolve) => server.close(resolve));
  return bound;
}

/** Starts `heartbeat serve` in a process group of its own and waits until it serves. */
async function startServer(via: Via): Promise<Server> {
  const [command, args] = via === 'npm' ? ['npm', ['start']] : [process.execPath, [BIN, 'serve']];
  const child = spawn(command, args as string[], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const outputClosed = Promise.all([
    new Promise((resolve) => child.stdout!.once('close', resolve)),
    new Promise((resolve) => child.stderr!.once('close', resolve)),
  ]).then(() => {});
  // Complete JSON lines only (the last one may still be arriving).
  const logs = () =>
    output
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  const server: Server = { child, output: () => output, logs, exited, outputClosed, graphqlUrl: '' };
  started.push(server);
  const ready = await Promise.race([
    waitFor('the server to start', () => logs().find((line) => line.msg === 'heartbeat started'), { timeoutMs: 60_000, intervalMs: 50 }),
    exited.then((code) => {
      throw new Error(`server exited (${code}) before it started:\n${output}`);
    }),
  ]);
  server.graphqlUrl = ready.url as string;
  return server;
}

async function gql<T = any>(server: Server, query: string, variables?: Record<string, unknown>): Promise<T> {
  const { body } = await postGraphQL<T>(server.graphqlUrl, query, { key: KEY, variables });
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data as T;
}

async function createAgent(server: Server, steps: unknown[]): Promise<string> {
  const data = await gql<{ createAgent: { id: string } }>(
    server,
    `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`,
    { input: { name: `agent-${Math.random().toString(36).slice(2, 8)}`, adapterType: 'SCRIPT', adapterConfig: { steps } } },
  );
  return data.createAgent.id;
}

async function wake(server: Server, agentId: string): Promise<{ outcome: string; runId: string }> {
  const data = await gql<{ enqueueWakeup: { outcome: string; run: { id: string } } }>(
    server,
    `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome run { id } } }`,
    { input: { agentId, reason: 'clean-stop test' } },
  );
  return { outcome: data.enqueueWakeup.outcome, runId: data.enqueueWakeup.run.id };
}

async function runStatus(server: Server, runId: string): Promise<string> {
  const data = await gql<{ run: { status: string } }>(server, `query($id: ID!) { run(id: $id) { status } }`, { id: runId });
  return data.run.status;
}

/** A run of a few seconds, RUNNING when this returns. */
async function startLongRun(server: Server): Promise<string> {
  const agentId = await createAgent(server, [{ log: 'working' }, { sleepMs: RUN_MS }, { result: { ok: true }, summary: 'done' }]);
  const { runId } = await wake(server, agentId);
  await waitFor('the run to be running', async () => (await runStatus(server, runId)) === 'RUNNING');
  return runId;
}

/** Polls /readyz (which reads the database) until the server stops answering; returns the statuses. */
function watchReadiness(server: Server): Promise<number[]> {
  const readyz = new URL('/readyz', server.graphqlUrl).toString();
  return (async () => {
    const statuses: number[] = [];
    for (;;) {
      try {
        statuses.push((await fetch(readyz, { signal: AbortSignal.timeout(5_000) })).status);
      } catch {
        return statuses; // refused: the port is closed
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
}

function postmasterPid(): number {
  return Number.parseInt(readFileSync(join(dir, 'data', 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
}

/** Process group of a live process (field 5 of /proc/<pid>/stat). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Live (not zombie) members of a process group. */
function membersOf(group: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && Number(pgrp) === group) members.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return members;
}

/**
 * Waits until the whole group has exited and its output is read; returns the leader's exit code or
 * signal. The group, not the leader: every process of it must be gone (npm, the server).
 */
async function stoppedWithin(server: Server, ms: number): Promise<number | string> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`server did not stop within ${ms} ms:\n${server.output()}`)), ms).unref(),
  );
  const code = await Promise.race([server.exited, timeout]);
  await waitFor('the server process group to exit', () => membersOf(server.child.pid!).length === 0, { timeoutMs: ms });
  await Promise.race([server.outputClosed, timeout]);
  return code;
}

/** Indexes of these messages in the server's log, in the order given; -1 for a missing one. */
function logOrder(server: Server, messages: string[]): number[] {
  const lines = server.logs().map((line) => line.msg);
  return messages.map((message) => lines.indexOf(message));
}

const STOP_SEQUENCE = ['shutting down', 'draining runs', 'engine stopped', 'http server closed', 'embedded postgres stopped', 'stopped'];

/** After a clean stop: nothing of the data dir runs, the API port is free. */
async function expectFullyStopped() {
  expect(processesMentioning(join(dir, 'data'))).toEqual([]);
  expect(await portIsFree(port)).toBe(true);
}

/** A restart on the same data dir and port serves at once; `check` runs against it; then it stops. */
async function restartAndCheck(check: (server: Server) => Promise<void>) {
  const server = await startServer('bin');
  expect(server.graphqlUrl).toBe(`http://127.0.0.1:${port}/graphql`);
  await check(server);
  process.kill(-server.child.pid!, 'SIGTERM');
  expect(await stoppedWithin(server, 30_000)).toBe(0);
  expect(server.logs().map((line) => line.msg), server.output()).toContain('stopped');
  await expectFullyStopped();
}

/** Signals the group while a run is in flight; checks the drain, the order of the stop, and a restart. */
async function stopDuringRun(via: Via, signal: NodeJS.Signals, { twice = false } = {}) {
  const server = await startServer(via);
  // The postmaster leads a process group of its own, not the server's: a signal to the server's
  // group does not reach it.
  const pg = postmasterPid();
  expect(processGroupOf(pg)).toBe(pg);
  expect(processGroupOf(pg)).not.toBe(server.child.pid);

  const runId = await startLongRun(server);
  const readiness = watchReadiness(server);
  process.kill(-server.child.pid!, signal);
  if (twice) {
    // Once the server has taken the first (two sent at once may merge into one pending signal).
    await waitFor('the first signal to be handled', () => server.logs().some((line) => line.msg === 'shutting down'), { intervalMs: 5 });
    process.kill(-server.child.pid!, signal);
  }

  expect(await stoppedWithin(server, GRACE_MS + 20_000)).toBe(cleanExit(via, signal));
  const order = logOrder(server, STOP_SEQUENCE);
  expect(order, server.output()).not.toContain(-1);
  expect(order, server.output()).toEqual([...order].sort((a, b) => a - b));
  expect(server.output()).not.toMatch(/shutdown (step )?failed/);
  expect(server.logs().find((line) => line.msg === 'draining runs')).toMatchObject({ runs: 1, graceMs: GRACE_MS });
  expect(server.output()).not.toContain('exiting without waiting');
  // While it drained, the API and its database answered; then the port closed.
  const statuses = await readiness;
  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.filter((status) => status !== 200)).toEqual([]);
  await expectFullyStopped();

  await restartAndCheck(async (restarted) => {
    // The run finished within the grace: nothing was left for recovery.
    expect(await runStatus(restarted, runId)).toBe('SUCCEEDED');
  });
  return server;
}

describe('stopping heartbeat serve', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-clean-stop-'));
    port = await freePort();
    env = {
      ...process.env,
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      HEARTBEAT_DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      HEARTBEAT_EMBEDDED_PG_PORT: String(await freePort()),
      HEARTBEAT_BOOTSTRAP_KEY: KEY,
      HEARTBEAT_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'info',
    };
  });

  afterEach(() => {
    for (const { child } of started.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });

  afterAll(async () => {
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('Ctrl-C (SIGINT to the group of `npm start`): the run finishes, PostgreSQL stops last, a restart works', { timeout: 90_000 }, async () => {
    await stopDuringRun('npm', 'SIGINT');
  });

  it('SIGTERM to the group: drains the same way; a wakeup sent meanwhile waits for the restart', { timeout: 90_000 }, async () => {
    const server = await startServer('bin');
    const idleAgent = await createAgent(server, [{ result: { ok: true } }]);
    const runId = await startLongRun(server);
    process.kill(-server.child.pid!, 'SIGTERM');
    await waitFor('the drain to start', () => server.logs().some((line) => line.msg === 'draining runs'));
    // New work is accepted and kept, not started: the engine no longer claims.
    const queued = await wake(server, idleAgent);
    expect(queued.outcome).toBe('QUEUED');
    expect(await runStatus(server, queued.runId)).toBe('QUEUED');

    expect(await stoppedWithin(server, GRACE_MS + 20_000)).toBe(0);
    const order = logOrder(server, STOP_SEQUENCE);
    expect(order, server.output()).not.toContain(-1);
    expect(order, server.output()).toEqual([...order].sort((a, b) => a - b));
    await expectFullyStopped();

    await restartAndCheck(async (restarted) => {
      expect(await runStatus(restarted, runId)).toBe('SUCCEEDED');
      await waitFor('the queued run to run after the restart', async () => (await runStatus(restarted, queued.runId)) === 'SUCCEEDED');
    });
  });

  it('a signal delivered twice at once (relayed) is ignored: the drain completes', { timeout: 90_000 }, async () => {
    const server = await stopDuringRun('npm', 'SIGTERM', { twice: true });
    const ignored = server.logs().filter((line) => line.msg.startsWith('ignored relayed SIGTERM'));
    expect(ignored.length, server.output()).toBeGreaterThan(0);
    for (const line of ignored) expect(line.afterMs).toBeLessThan(RELAY_WINDOW_MS);
  });

  it('a second signal after the relay window exits at once, and PostgreSQL still stops', { timeout: 90_000 }, async () => {
    const server = await startServer('bin');
    const pg = postmasterPid();
    const agentId = await createAgent(server, [{ sleepMs: 60_000 }]);
    const { runId } = await wake(server, agentId);
    await waitFor('the run to be running', async () => (await runStatus(server, runId)) === 'RUNNING');
    process.kill(-server.child.pid!, 'SIGINT');
    const sentAt = Date.now();
    await waitFor('the drain to start', () => server.logs().some((line) => line.msg === 'draining runs'));
    // A person pressing Ctrl-C again, later than a relay would arrive.
    await waitFor('the relay window to pass', () => Date.now() - sentAt > RELAY_WINDOW_MS + 500, { timeoutMs: 10_000, intervalMs: 100 });
    process.kill(-server.child.pid!, 'SIGINT');

    expect(await stoppedWithin(server, 10_000)).toBe(1);
    expect(server.output()).toContain('exiting without waiting');
    // The server's exit asked its detached postmaster for a fast shutdown.
    await waitFor('the postmaster to exit', () => !processesMentioning(join(dir, 'data', 'pg')).includes(pg));
    expect(processesMentioning(join(dir, 'data', 'pg'))).toEqual([]);
    expect(await portIsFree(port)).toBe(true);

    await restartAndCheck(async (restarted) => {
      // The run left behind is recovered: its server is dead, so it failed as lost.
      const lost = await waitFor('the lost run to be recovered', async () => {
        const data = await gql<{ run: { status: string; errorCode: string | null } }>(
          restarted,
          `query($id: ID!) { run(id: $id) { status errorCode } }`,
          { id: runId },
        );
        return data.run.status !== 'RUNNING' && data.run;
      });
      expect(lost).toEqual({ status: 'FAILED', errorCode: 'process_lost' });
      // Its retry would sleep for a minute: pausing the agent cancels it, so this restart stops at once.
      await gql(restarted, `mutation($id: ID!) { pauseAgent(id: $id) { id } }`, { id: agentId });
    });
  });

  it('after SIGKILL of the whole group, the next start takes over the PostgreSQL left running', { timeout: 90_000 }, async () => {
    const server = await startServer('bin');
    const pg = postmasterPid();
    process.kill(-server.child.pid!, 'SIGKILL');
    await stoppedWithin(server, 10_000);
    // Detached, the postmaster survived the kill of the group.
    expect(processesMentioning(join(dir, 'data', 'pg'))).toContain(pg);

    await restartAndCheck(async (restarted) => {
      expect(postmasterPid()).not.toBe(pg);
      const data = await gql<{ viewer: { name: string } }>(restarted, '{ viewer { name } }');
      expect(data.viewer.name).toBe('Heartbeat');
    });
    expect(processesMentioning(join(dir, 'data', 'pg'))).toEqual([]);
  });
});
