// A process agent's environment is a minimal documented base (INHERITED_ENV and LC_*), its
// configured env and the HEARTBEAT_* run variables: the server's own secrets never reach it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INHERITED_ENV } from '../../../engine/adapters/process.ts';
import { createAgent, enqueue, gql, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const ECHO = fileURLToPath(new URL('../../fixtures/agents/echo-agent.mjs', import.meta.url));
const RUN_VARIABLES = ['HEARTBEAT_API_URL', 'HEARTBEAT_RUN_ID', 'HEARTBEAT_RUN_TOKEN', 'HEARTBEAT_AGENT_ID', 'HEARTBEAT_ISSUE_ID', 'HEARTBEAT_COMPANY_ID', 'HEARTBEAT_SESSION_ID', 'HEARTBEAT_TASK_FILE'];
// What a server's environment holds besides the basics (the server shares this test's process).
const SERVER_ENV = {
  DATABASE_URL: 'postgres://heartbeat:hunter2@db.internal/heartbeat',
  HEARTBEAT_BOOTSTRAP_KEY: 'hb_bootstrap_secret',
  REDIS_URL: 'redis://:redispass@cache.internal',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  LC_HEARTBEAT_PROBE: 'C.UTF-8',
};

describe('process agent environment', () => {
  let server: TestServer;
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    server = await startTestServer();
    for (const [name, value] of Object.entries(SERVER_ENV)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server?.close();
  });

  it('holds the base, the configured env and the run variables, and nothing of the server', async () => {
    const agentId = await createAgent(server, {
      adapterType: 'process',
      adapterConfig: { command: process.execPath, args: [ECHO], env: { CUSTOM: 'custom', OPENAI_API_KEY: 'configured-key' } },
    });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run.status).toBe('succeeded');
    const env = (run.resultJson as { env: Record<string, string> }).env;

    for (const name of ['DATABASE_URL', 'HEARTBEAT_BOOTSTRAP_KEY', 'REDIS_URL', 'AWS_SECRET_ACCESS_KEY']) expect(env).not.toHaveProperty(name);
    const allowed = new Set<string>([...INHERITED_ENV, ...RUN_VARIABLES, 'CUSTOM', 'OPENAI_API_KEY', '_HEARTBEAT_PROCESS_TREE']);
    // The child's own runtime may add a variable or two (node sets none; a shell would set PWD/SHLVL/_).
    expect(Object.keys(env).filter((name) => !allowed.has(name) && !name.startsWith('LC_'))).toEqual([]);
    expect(env).toMatchObject({ PATH: process.env.PATH, LC_HEARTBEAT_PROBE: 'C.UTF-8', CUSTOM: 'custom', OPENAI_API_KEY: 'configured-key' });
    if (process.env.HOME) expect(env.HOME).toBe(process.env.HOME);
    for (const name of RUN_VARIABLES) expect(env).toHaveProperty(name);
    // Ids as the API spells them: the company's is the viewer's id.
    const { viewer } = await gql<{ viewer: { id: string } }>(server, '{ viewer { id } }');
    expect(env.HEARTBEAT_COMPANY_ID).toBe(viewer.id);
  });
});
