// Keys an adapter does not know (`timeout` for timeoutSec, `workdir` for cwd) are refused when a config
// is stored, with BAD_USER_INPUT naming the key, and nothing changes. An agent stored before that rule
// keeps running: a stored config is read for a run with the keys the adapter does not know ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents } from '../../../db/schema.ts';
import { builtInAdapters } from '../../../engine/adapters/index.ts';
import { agentGid, enqueue, gql, gqlFailure, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const CREATE = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }';
const UPDATE = 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { id name adapterConfig } }';

/** A valid config of each adapter type. */
const VALID: Record<string, Record<string, unknown>> = {
  PROCESS: { command: 'sh', args: ['-c', 'echo ok'] },
  HTTP: { url: 'http://127.0.0.1:9/agent' },
  SCRIPT: { steps: [{ log: 'hi' }] },
  CLAUDE_CODE: { model: 'opus' },
  CODEX: { model: 'gpt-5-codex' },
};

describe('unknown adapterConfig keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const uniqueName = () => `keys-${Math.random().toString(36).slice(2, 10)}`;
  const storedByName = (name: string) => server.database.db.query.agents.findFirst({ where: { name } });

  it('createAgent refuses them for every adapter type, naming the key, and stores nothing', async () => {
    for (const [adapterType, config] of Object.entries(VALID)) {
      for (const key of ['timeout', 'workdir']) {
        const name = uniqueName();
        const failure = await gqlFailure(gql(server, CREATE, { input: { name, adapterType, adapterConfig: { ...config, [key]: 5 } } }));
        expect(failure.code, `${adapterType} ${key}`).toBe('BAD_USER_INPUT');
        expect(failure.errors[0].message).toBe(`adapterConfig.${key}: Unknown field`);
        expect(failure.errors[0].extensions?.issues).toEqual([{ path: `adapterConfig.${key}`, message: 'Unknown field' }]);
        expect(await storedByName(name)).toBeUndefined();
      }
      // The same config without the key is stored.
      const name = uniqueName();
      await gql(server, CREATE, { input: { name, adapterType, adapterConfig: config } });
      expect((await storedByName(name))?.adapterConfig).toEqual(config);
    }
  });

  it('every unknown key is named, next to a bad known field; a script step names its own', async () => {
    const failure = await gqlFailure(
      gql(server, CREATE, { input: { name: uniqueName(), adapterType: 'PROCESS', adapterConfig: { command: '', timeout: 5, workdir: '/srv' } } }),
    );
    expect(failure.errors[0].extensions?.issues).toEqual(
      expect.arrayContaining([
        { path: 'adapterConfig.command', message: expect.any(String) },
        { path: 'adapterConfig.timeout', message: 'Unknown field' },
        { path: 'adapterConfig.workdir', message: 'Unknown field' },
      ]),
    );
    const step = await gqlFailure(
      gql(server, CREATE, { input: { name: uniqueName(), adapterType: 'SCRIPT', adapterConfig: { steps: [{ log: 'hi' }, { log: 'x', colour: 'red' }] } } }),
    );
    expect(step.code).toBe('BAD_USER_INPUT');
    expect(step.errors[0].message).toBe('adapterConfig.steps[1].colour: Unknown field');
  });

  it('updateAgent refuses them and leaves the stored config as it was', async () => {
    const name = uniqueName();
    const created = await gql(server, CREATE, { input: { name, adapterType: 'HTTP', adapterConfig: VALID.HTTP } });
    const id = created.createAgent.id;
    const failure = await gqlFailure(gql(server, UPDATE, { input: { id, name: `${name}-renamed`, adapterConfig: { ...VALID.HTTP, timeoutSec: 30, timeout: 30 } } }));
    expect(failure.code).toBe('BAD_USER_INPUT');
    expect(failure.errors[0].message).toBe('adapterConfig.timeout: Unknown field');
    const row = await storedByName(name);
    expect(row?.adapterConfig).toEqual(VALID.HTTP);
  });

  describe('an agent stored before unknown keys were refused', () => {
    const storeOld = async (adapterType: 'process' | 'script', adapterConfig: Record<string, unknown>) => {
      const [row] = await server.database.db
        .insert(agents)
        .values({ companyId: server.companyId, name: uniqueName(), adapterType, adapterConfig, runtimeConfig: { heartbeat: {} } })
        .returning();
      return row;
    };

    it('keeps running: its unknown keys are ignored at run time', async () => {
      const oldProcess = await storeOld('process', { command: 'sh', args: ['-c', 'echo still running'], timeout: 5, workdir: '/nowhere' });
      const oldScript = await storeOld('script', { steps: [{ log: 'still scripted' }, { result: { ok: true } }], timeout: 5 });
      for (const agent of [oldProcess, oldScript]) {
        const { runId } = await enqueue(server, { agentId: agent.id });
        const run = await runFinished(server, runId!);
        expect(run.status, `${agent.adapterType}: ${run.error}`).toBe('succeeded');
      }
      expect((await runFinishedOutput(oldProcess.id)).trim()).toBe('still running');
    });

    it('can be changed without touching its config; its config sent back as it is names the unknown key', async () => {
      const old = await storeOld('script', { steps: [], timeout: 5 });
      const renamed = await gql(server, UPDATE, { input: { id: agentGid(old.id), name: `${old.name}-renamed` } });
      expect(renamed.updateAgent.name).toBe(`${old.name}-renamed`);
      const failure = await gqlFailure(gql(server, UPDATE, { input: { id: agentGid(old.id), adapterConfig: renamed.updateAgent.adapterConfig } }));
      expect(failure.errors[0].message).toBe('adapterConfig.timeout: Unknown field');
    });

    const runFinishedOutput = async (agentId: string) => {
      const run = await server.database.db.query.heartbeatRuns.findFirst({ where: { agentId } });
      return run?.stdoutExcerpt ?? '';
    };
  });
});

describe('readStoredConfig and parseConfig', () => {
  it('read the same config, the one ignoring and the other refusing a key it does not know', () => {
    const configs: Record<string, unknown> = {
      process: { command: 'sh', timeout: 5 },
      http: { url: 'https://agent.test/run', timeout: 5 },
      script: { steps: [{ log: 'hi', colour: 'red' }], timeout: 5 },
      claude_code: { model: 'opus', workdir: '/srv' },
      codex: { workdir: '/srv' },
    };
    const badKnownField: Record<string, [string, unknown]> = {
      process: ['command', ''],
      http: ['url', 'ftp://agent.test'],
      script: ['steps', 'log'],
      claude_code: ['maxTurns', 0],
      codex: ['command', ''],
    };
    for (const [type, adapter] of Object.entries(builtInAdapters)) {
      const config = configs[type];
      expect(() => adapter.parseConfig(config), type).toThrow(/Unknown field/);
      expect(JSON.stringify(adapter.readStoredConfig(config)), type).not.toMatch(/timeout"|workdir|colour/);
      // Still refused for a field it knows.
      const [field, bad] = badKnownField[type];
      expect(() => adapter.readStoredConfig({ ...(config as object), [field]: bad }), type).toThrow(`adapterConfig.${field}`);
    }
  });
});
