// Where a process-type agent runs: with a `cwd`, there; without one, in a directory of its own under
// the data directory, <HEARTBEAT_DATA_DIR>/agents/<company id>/<agent id>, created 0700 on its first
// run and kept between runs. Never in the server's own directory.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, gql, rawId, runEventPayload, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { engineFixture } from '../../support/engine.ts';
import { fakeCliRecords, installFakeClis } from '../../fixtures/agents/fake-coding-clis.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';
import { processAdapter } from '../../../engine/adapters/process.ts';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('the working directory of a process-type agent', () => {
  let server: TestServer;
  let scratch: string;
  beforeAll(async () => {
    server = await startTestServer();
    scratch = await mkdtemp(join(tmpdir(), 'heartbeat-workdir-'));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const createAgent = async (adapterType: string, adapterConfig: unknown) => {
    const name = `workdir-${Math.random().toString(36).slice(2, 10)}`;
    const data = await gql(server, 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }', {
      input: { name, adapterType, adapterConfig },
    });
    return rawId(data.createAgent.id);
  };
  const wakeAndFinish = async (agentId: string, taskKey: string) => {
    const { runId } = await enqueue(server, { agentId, payload: { taskKey } });
    return runFinished(server, runId!);
  };

  it('without a cwd: its own 0700 directory under the data directory, created on the first run and kept', async () => {
    // pwd, then a count of the runs that wrote into the directory so far.
    const agentId = await createAgent('PROCESS', { command: 'sh', args: ['-c', 'pwd && echo run >> runs.txt && wc -l < runs.txt'] });
    const own = join(server.dataDir, 'agents', server.companyId, agentId);

    const first = await wakeAndFinish(agentId, 'first');
    expect(first.status, first.error ?? '').toBe('succeeded');
    const [printed, count] = first.stdoutExcerpt!.trim().split('\n');
    expect(printed).toBe(own);
    expect(printed).not.toBe(process.cwd());
    expect(count.trim()).toBe('1');
    expect(await runEventPayload<{ cwd: string }>(server, first.id, 'adapter.invoke')).toMatchObject({ cwd: own });
    // Only the server's user may enter it, nor the directories made for it on the way.
    expect(await modeOf(own)).toBe(0o700);
    expect(await modeOf(join(server.dataDir, 'agents', server.companyId))).toBe(0o700);
    expect(await modeOf(join(server.dataDir, 'agents'))).toBe(0o700);

    // The same directory on the next run, with what the first left in it.
    const second = await wakeAndFinish(agentId, 'second');
    expect(second.stdoutExcerpt!.trim().split('\n').map((line) => line.trim())).toEqual([own, '2']);
  });

  it('each agent has a directory of its own', async () => {
    const print = { command: 'sh', args: ['-c', 'pwd'] };
    const [a, b] = [await createAgent('PROCESS', print), await createAgent('PROCESS', print)];
    const [runA, runB] = [await wakeAndFinish(a, 'a'), await wakeAndFinish(b, 'b')];
    expect(runA.stdoutExcerpt!.trim()).toBe(join(server.dataDir, 'agents', server.companyId, a));
    expect(runB.stdoutExcerpt!.trim()).toBe(join(server.dataDir, 'agents', server.companyId, b));
  });

  it('with a cwd: runs there, and no directory of its own is made', async () => {
    const agentId = await createAgent('PROCESS', { command: 'sh', args: ['-c', 'pwd'], cwd: scratch });
    const run = await wakeAndFinish(agentId, 'cwd');
    expect(run.stdoutExcerpt!.trim()).toBe(scratch);
    await expect(stat(join(server.dataDir, 'agents', server.companyId, agentId))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('CLAUDE_CODE and CODEX agents without a cwd run in their own directory too', async () => {
    const clis = await installFakeClis(scratch);
    for (const [adapterType, command, stream] of [
      ['CLAUDE_CODE', clis.claude, 'claude-code-stream.jsonl'],
      ['CODEX', clis.codex, 'codex-exec.jsonl'],
    ] as const) {
      const record = join(scratch, `${adapterType}.jsonl`);
      const agentId = await createAgent(adapterType, { command, env: { FAKE_CLI_RECORD: record, FAKE_CLI_STREAM: stream } });
      const run = await wakeAndFinish(agentId, adapterType);
      expect(run.status, `${adapterType}: ${run.error}`).toBe('succeeded');
      const own = join(server.dataDir, 'agents', server.companyId, agentId);
      expect((await fakeCliRecords(record)).map((started) => started.cwd)).toEqual([own]);
      expect(await modeOf(own)).toBe(0o700);
    }
  });

  it('a directory that cannot be made fails the run before anything is spawned, naming why', async () => {
    // A file where a parent directory would go: mkdir cannot go through it.
    const file = join(scratch, 'a-file');
    await writeFile(file, '');
    const rec = recordingExecution(processAdapter.parseConfig({ command: 'sh', args: ['-c', 'pwd'] }), { agentDir: join(file, 'agents', 'c', 'a') });
    const result = await processAdapter.execute(rec.execution);
    expect(result).toMatchObject({ exitCode: null, errorCode: 'adapter_failed' });
    expect(result.errorMessage).toMatch(/^Failed to create the agent's directory: ENOTDIR/);
    expect(rec.spawns).toEqual([]);
  });
});

describe('an engine without a data directory (no server)', () => {
  it('gives agents directories under a temporary directory, never the server cwd', async () => {
    const f = await engineFixture();
    try {
      const { dataDir } = f.engine.deps.settings;
      expect(dataDir.startsWith(tmpdir())).toBe(true);
      expect(dataDir.startsWith(process.cwd())).toBe(false);
    } finally {
      await f.close();
    }
  });
});
