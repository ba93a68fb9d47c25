// A run's whole process tree ends with it: cancel, timeout and the reaper's terminateGroup also stop
// the descendants that left the run's process group (setsid, a double fork), and nothing else.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive, terminateGroup } from '../../../engine/adapters/process-groups.ts';
import { TREE_MARKER_VAR } from '../../../engine/adapters/process-tree.ts';
import { createAgent, enqueue, gql, runFinished, runGid } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const node = process.execPath;

/** Alive and not a zombie. */
const alive = (pid: number) => pidAlive(pid);

/** A process that writes its pid to <dir>/<name>, optionally shrugs off SIGTERM, and runs until killed. */
const LEAF = `
  const [dir, name, mode] = process.argv.slice(1);
  if (mode === 'ignore-term') process.on('SIGTERM', () => {});
  require('node:fs').writeFileSync(require('node:path').join(dir, name), String(process.pid));
  setInterval(() => {}, 1000);`;

/** The descendants an agent leaves when it is stopped, each a way out of its process group. */
const ESCAPES = {
  setsid: ['setsid', node, '-e', LEAF, '{dir}', 'setsid'],
  'ignores-term': ['setsid', node, '-e', LEAF, '{dir}', 'ignores-term', 'ignore-term'],
  // A shell starts it in the background and exits: it is re-parented away from the run.
  'double-fork': ['sh', '-c', 'setsid "$0" -e "$1" "$2" double-fork &', node, LEAF, '{dir}'],
  // No marker: found only by its parent link to the agent, which lives until the cancel.
  'no-env': ['setsid', 'env', '-i', node, '-e', LEAF, '{dir}', 'no-env'],
  // In the group, and ignores SIGTERM: the SIGKILL after the grace takes it.
  'in-group': [node, '-e', LEAF, '{dir}', 'in-group', 'ignore-term'],
} as const;
type Escape = keyof typeof ESCAPES;
const ALL = Object.keys(ESCAPES) as Escape[];

/** The agent: starts the escapes, says so, and runs until stopped. */
const agentScript = (names: readonly Escape[] = ALL) => `
  const { spawn } = require('node:child_process');
  const escapes = ${JSON.stringify(names.map((name) => ESCAPES[name]))};
  for (const command of escapes) {
    const args = command.map((arg) => (arg === '{dir}' ? process.env.TREE_DIR : arg));
    spawn(args[0], args.slice(1), { stdio: 'ignore' });
  }
  process.stdout.write('{"type":"ready"}\\n');
  setInterval(() => {}, 1000);`;

let dir: string;
/** Pids written by the descendants, to clean up after a failed test. */
let seen: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'heartbeat-tree-'));
});
afterEach(() => {
  for (const pid of seen) if (alive(pid)) process.kill(pid, 'SIGKILL');
  seen = [];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Waits for every escape of run `label` to have written its pid; returns them by name. */
async function escapedPids(label: string, names: readonly Escape[] = ALL): Promise<Record<Escape, number>> {
  const pidOf = (name: Escape) => (existsSync(join(dir, label, name)) ? Number(readFileSync(join(dir, label, name), 'utf8')) : 0);
  // A file may be seen created but not yet written: wait for every pid to read as one.
  const pids = await waitFor(`the descendants of ${label} to start`, () => {
    const found = names.map((name) => [name, pidOf(name)] as const);
    return found.every(([, pid]) => pid > 0) ? Object.fromEntries(found) : null;
  });
  seen.push(...Object.values(pids));
  return pids as Record<Escape, number>;
}

/** A process outside any run's tree: no marker, or another run's. It must outlive every stop. */
function bystander(marker?: string): ChildProcess {
  const child = spawn('setsid', [node, '-e', 'setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
    env: { PATH: process.env.PATH, ...(marker && { [TREE_MARKER_VAR]: marker }) },
  });
  child.unref();
  return child;
}

describe('a run stopped by the engine takes its whole process tree with it', () => {
  let server: TestServer;
  const bystanders: ChildProcess[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    bystanders.push(bystander(), bystander('f'.repeat(64)));
    await waitFor('the bystanders to start', () => bystanders.every((child) => child.pid && alive(child.pid)));
  });
  afterAll(async () => {
    for (const child of bystanders) if (child.pid && alive(child.pid)) process.kill(child.pid, 'SIGKILL');
    await server?.close();
  });

  const treeAgent = async (label: string, extra: Record<string, unknown> = {}) => {
    await mkdir(join(dir, label));
    return createAgent(server, {
      adapterType: 'process',
      adapterConfig: { command: node, args: ['-e', agentScript()], env: { TREE_DIR: join(dir, label) }, graceSec: 1, ...extra },
    });
  };

  it('cancelRun: setsid, double-forked, marker-less and SIGTERM-deaf descendants are all gone', async () => {
    const agentId = await treeAgent('cancel');
    const { runId } = await enqueue(server, { agentId });
    const pids = await escapedPids('cancel');
    for (const pid of Object.values(pids)) expect(alive(pid)).toBe(true);

    const cancelled = await gql(server, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runGid(runId!) });
    expect(cancelled.cancelRun.status).toBe('CANCELLED');
    await waitFor('every descendant to be gone', () => Object.values(pids).every((pid) => !alive(pid)), { timeoutMs: 10_000 });
    const settled = await waitFor('the run to settle', async () => {
      const row = await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
      return row?.settledAt ? row : null;
    });
    expect(settled).toMatchObject({ status: 'cancelled', errorCode: 'cancelled' });
    for (const child of bystanders) expect(alive(child.pid!)).toBe(true);
  });

  it('timeoutSec: the same tree is gone once the run has timed out', async () => {
    const agentId = await treeAgent('timeout', { timeoutSec: 3 });
    const { runId } = await enqueue(server, { agentId });
    const pids = await escapedPids('timeout');
    const run = await runFinished(server, runId!);
    expect(run).toMatchObject({ status: 'timed_out', errorCode: 'timeout' });
    await waitFor('every descendant to be gone', () => Object.values(pids).every((pid) => !alive(pid)), { timeoutMs: 10_000 });
    for (const child of bystanders) expect(alive(child.pid!)).toBe(true);
  });

  it('a result line over the 4 MiB line limit fails the run with result_too_large', async () => {
    // 5 MiB of result, written honouring backpressure, after a summary key so it is not the first one.
    const script = `
      const head = '{"summary":"big","result":{"blob":"';
      const piece = 'x'.repeat(1 << 16); let left = 80;
      process.stdout.write(head);
      const go = () => { while (left-- > 0) if (!process.stdout.write(piece)) return process.stdout.once('drain', go);
        process.stdout.write('"}}\\n{"type":"after"}\\n'); };
      go();`;
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: node, args: ['-e', script] } });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run).toMatchObject({
      status: 'failed',
      exitCode: 0,
      errorCode: 'result_too_large',
      error: 'The result line is over the 4 MiB line limit: it was logged in pieces, not read as the result',
    });
    // Its text went to the log, as any over-long line's does.
    expect(run.stdoutExcerpt).toMatch(/xxx"\}\}\n$/);
    // The lines after it were still read.
    const events = await server.database.db.query.runEvents.findMany({ where: { runId: runId!, eventType: 'after' } });
    expect(events).toHaveLength(1);
  });
});

describe("the reaper's terminateGroup, which knows only the process group", () => {
  it('also stops what left the group, by the marker its members carry; a bystander lives on', async () => {
    const label = 'reaper';
    await mkdir(join(dir, label));
    const marker = 'a'.repeat(64);
    // A run's child as another instance started it: leading its group, carrying its run's marker.
    // Nothing left in the group shrugs off SIGTERM: the marker must be read before the group is signalled.
    const escapes = ALL.filter((name) => name !== 'in-group');
    const child = spawn(node, ['-e', agentScript(escapes)], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH, TREE_DIR: join(dir, label), [TREE_MARKER_VAR]: marker },
    });
    child.unref();
    const other = bystander('b'.repeat(64));
    try {
      const pids = await escapedPids(label, escapes);
      seen.push(child.pid!);
      await terminateGroup(child.pid!, 1).done;
      await waitFor('the whole tree to be gone', () => [child.pid!, ...Object.values(pids)].every((pid) => !alive(pid)), { timeoutMs: 5_000 });
      expect(alive(other.pid!)).toBe(true);
    } finally {
      if (alive(other.pid!)) process.kill(other.pid!, 'SIGKILL');
    }
  });
});
