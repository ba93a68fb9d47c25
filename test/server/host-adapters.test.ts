// Who may run what on the host (HEARTBEAT_HOST_ADAPTERS, HEARTBEAT_HOST_COMMANDS), and where HTTP
// agents may be called (HEARTBEAT_AGENT_DENY_NETWORKS): through the API of real servers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { loadConfig } from '../../server/config.ts';
import { createAgent, createIssue, enqueue, gql, gqlFailure, runFinished } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const CREATE = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id name } }';
const UPDATE = 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { id name } }';
const processInput = (name: string, command = 'true') => ({ input: { name, adapterType: 'PROCESS', adapterConfig: { command } } });

async function operatorKey(server: TestServer): Promise<string> {
  return (await createApiKey(server.database.db, { companyId: server.companyId, name: 'operator', role: 'operator' })).key;
}

const agentCount = async (server: TestServer) => (await server.database.db.select({ id: agents.id }).from(agents)).length;

describe('host adapters, by default (admins only)', () => {
  let server: TestServer;
  let operator: string;
  beforeAll(async () => {
    server = await startTestServer();
    operator = await operatorKey(server);
  });
  afterAll(() => server?.close());

  it("refuses an operator's PROCESS, CLAUDE_CODE and CODEX agents, naming the setting, and stores nothing", async () => {
    const before = await agentCount(server);
    for (const [adapterType, adapterConfig] of [['PROCESS', { command: 'true' }], ['CLAUDE_CODE', {}], ['CODEX', {}]] as const) {
      const failure = await gqlFailure(gql(server, CREATE, { input: { name: `op-${adapterType}`, adapterType, adapterConfig } }, operator));
      expect(failure.code).toBe('FORBIDDEN');
      expect(failure.message).toContain('HEARTBEAT_HOST_ADAPTERS=admin');
    }
    expect(await agentCount(server)).toBe(before);
  });

  it("lets the operator create SCRIPT and HTTP agents, and the admin a PROCESS agent the operator may then not change", async () => {
    await gql(server, CREATE, { input: { name: 'op-script', adapterType: 'SCRIPT', adapterConfig: { steps: [] } } }, operator);
    await gql(server, CREATE, { input: { name: 'op-http', adapterType: 'HTTP', adapterConfig: { url: 'http://127.0.0.1:9/' } } }, operator);
    const { createAgent: made } = await gql(server, CREATE, processInput('admin-process'));
    const failure = await gqlFailure(gql(server, UPDATE, { input: { id: made.id, name: 'renamed by an operator' } }, operator));
    expect(failure.code).toBe('FORBIDDEN');
    // Nor may an operator turn a SCRIPT agent into a PROCESS one.
    const { createAgent: script } = await gql(server, CREATE, { input: { name: 'op-script-2', adapterType: 'SCRIPT', adapterConfig: { steps: [] } } }, operator);
    expect((await gqlFailure(gql(server, UPDATE, { input: { id: script.id, adapterType: 'PROCESS', adapterConfig: { command: 'id' } } }, operator))).code).toBe('FORBIDDEN');
    const [stored] = await server.database.db.select().from(agents).where(eq(agents.name, 'admin-process'));
    expect(stored.name).toBe('admin-process');
    expect((await gql(server, UPDATE, { input: { id: made.id, name: 'renamed by the admin' } })).updateAgent.name).toBe('renamed by the admin');
  });
});

describe('host adapters turned off, and a list of commands', () => {
  let server: TestServer;
  let operator: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { HEARTBEAT_HOST_ADAPTERS: 'operator', HEARTBEAT_HOST_COMMANDS: 'true, /bin/echo' } });
    operator = await operatorKey(server);
  });
  afterAll(() => server?.close());

  it('lets operators create host agents when the setting says so, for listed commands only', async () => {
    await gql(server, CREATE, processInput('listed', '/bin/echo'), operator);
    const failure = await gqlFailure(gql(server, CREATE, processInput('unlisted', 'sh'), operator));
    expect(failure.code).toBe('FORBIDDEN');
    expect(failure.message).toContain('HEARTBEAT_HOST_COMMANDS');
    // A bare name on the list is not any file of that name.
    expect((await gqlFailure(gql(server, CREATE, processInput('elsewhere', '/tmp/true'), operator))).code).toBe('FORBIDDEN');
    // CLAUDE_CODE runs `claude` unless told otherwise: not on the list.
    expect((await gqlFailure(gql(server, CREATE, { input: { name: 'claude', adapterType: 'CLAUDE_CODE', adapterConfig: {} } }))).code).toBe('FORBIDDEN');
  });

  it('does not run an agent the list no longer allows: its wakeups are refused and kept, its queued run fails saying why', async () => {
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: 'true' } });
    const first = await enqueue(server, { agentId });
    expect((await runFinished(server, first.runId!)).status).toBe('succeeded');
    // Then the list changes (a restart with other settings): the stored command is no longer on it.
    server.app.engine.deps.settings.hostAdapters = { access: 'operator', commands: ['/bin/echo'] };
    try {
      const failure = await gqlFailure(enqueue(server, { agentId, reason: 'after the change' }));
      expect(failure.code).toBe('FORBIDDEN');
      expect(failure.message).toContain('HEARTBEAT_HOST_COMMANDS');
      const skipped = await server.database.db.select().from(wakeupRequests).where(eq(wakeupRequests.agentId, agentId));
      expect(skipped.find((wake) => wake.reason === 'host_adapters.refused')).toMatchObject({ status: 'skipped' });
      // An issue assigned to it is still assigned; the wakeup is skipped, not the change refused.
      const { wakeup } = await createIssue(server, { title: 'for a refused agent', assigneeAgentId: agentId });
      expect(wakeup?.outcome).toBe('SKIPPED');
      // A run queued before the change is not run: it fails, naming the setting.
      const [run] = await server.database.db
        .insert(heartbeatRuns)
        .values({ companyId: server.companyId, agentId, status: 'queued', wakeupRequestId: skipped[0].id })
        .returning();
      const finished = await runFinished(server, run.id);
      expect(finished).toMatchObject({ status: 'failed', errorCode: 'host_adapter_refused' });
      expect(finished.error).toContain('HEARTBEAT_HOST_COMMANDS');
    } finally {
      server.app.engine.deps.settings.hostAdapters = { access: 'operator', commands: ['true', '/bin/echo'] };
    }
  });
});

describe('HEARTBEAT_HOST_ADAPTERS=off', () => {
  let server: TestServer;
  beforeAll(async () => void (server = await startTestServer({ env: { HEARTBEAT_HOST_ADAPTERS: 'off' } })));
  afterAll(() => server?.close());

  it('refuses host agents to admins too', async () => {
    const failure = await gqlFailure(gql(server, CREATE, processInput('nobody')));
    expect(failure.code).toBe('FORBIDDEN');
    expect(failure.message).toContain('HEARTBEAT_HOST_ADAPTERS=off');
  });
});

describe('where HTTP agents may be called', () => {
  let server: TestServer;
  let endpoint: Server;
  let port: number;
  let requests = 0;
  beforeAll(async () => {
    endpoint = createServer((_req, res) => {
      requests++;
      res.end(JSON.stringify({ result: 'ok' }));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    port = (endpoint.address() as AddressInfo).port;
    // Loopback denied except 127.0.0.1 itself: the rules of a strict deployment, on this machine.
    server = await startTestServer({ env: { HEARTBEAT_AGENT_DENY_NETWORKS: '169.254.0.0/16,127.0.0.0/8,::1/128', HEARTBEAT_AGENT_ALLOW_NETWORKS: '127.0.0.1/32' } });
  });
  afterAll(async () => {
    await server?.close();
    await new Promise<void>((resolve) => endpoint.close(() => resolve()));
  });

  const runOf = async (url: string) => {
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url } });
    const { runId } = await enqueue(server, { agentId });
    return runFinished(server, runId!);
  };

  it('fails a run pointed at the cloud metadata address with address_refused, sending nothing', async () => {
    const run = await runOf('http://169.254.169.254/latest/meta-data/iam/');
    expect(run).toMatchObject({ status: 'failed', errorCode: 'address_refused' });
    expect(run.error).toContain('169.254.169.254 is not an allowed address');
  });

  it('refuses a denied address however it is named, and calls an allowed one', async () => {
    const before = requests;
    const denied = await runOf(`http://127.0.0.2:${port}/`);
    expect(denied).toMatchObject({ status: 'failed', errorCode: 'address_refused' });
    expect(requests).toBe(before);
    const allowed = await runOf(`http://127.0.0.1:${port}/`);
    expect(allowed.status).toBe('succeeded');
    expect(requests).toBe(before + 1);
  });

  it('refuses a bad setting at start, naming it', () => {
    expect(() => loadConfig({ HEARTBEAT_AGENT_DENY_NETWORKS: '10.0.0.0/99' })).toThrow('not a network: "10.0.0.0/99"');
    expect(() => loadConfig({ HEARTBEAT_HOST_ADAPTERS: 'everyone' })).toThrow('HEARTBEAT_HOST_ADAPTERS must be admin, operator or off');
  });
});

