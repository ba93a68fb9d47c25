// Secrets in adapter configs survive a read-modify-write: the API shows env and header values, and
// an http url's query values, as ***REDACTED***, and sending that back keeps the stored value
// instead of storing the marker.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGid, createAgent, enqueue, GraphQLFailure, gql, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const ECHO = fileURLToPath(new URL('../../fixtures/agents/echo-agent.mjs', import.meta.url));
const MARKER = '***REDACTED***';

describe('redacted adapter secrets', () => {
  let server: TestServer;
  let http: Server;
  const headers: Array<Record<string, unknown>> = [];
  const paths: string[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    http = createServer((request, response) => {
      headers.push(request.headers);
      paths.push(request.url!);
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"result":{"ok":true}}'));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  const readConfig = async (agentId: string) =>
    (await gql(server, 'query($id: ID!) { agent(id: $id) { adapterConfig } }', { id: agentGid(agentId) })).agent.adapterConfig;
  const writeConfig = (agentId: string, adapterConfig: unknown) =>
    gql(server, 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { adapterConfig } }', {
      input: { id: agentGid(agentId), adapterConfig },
    });
  const storedConfig = async (agentId: string) =>
    (await server.database.db.query.agents.findFirst({ where: { id: agentId } }))!.adapterConfig as Record<string, any>;

  it('a process config read back and written with a change keeps its env secrets', async () => {
    const agentId = await createAgent(server, {
      adapterType: 'process',
      adapterConfig: { command: process.execPath, args: [ECHO], env: { SECRET: 's3cret', OTHER: 'old' } },
    });
    const read = await readConfig(agentId);
    expect(read.env).toEqual({ SECRET: MARKER, OTHER: MARKER });
    // The usual edit: change one field, set one variable, add one, send the rest back as read.
    await writeConfig(agentId, { ...read, args: [ECHO, 'changed'], env: { ...read.env, OTHER: 'new', ADDED: 'added' } });
    expect((await storedConfig(agentId)).env).toEqual({ SECRET: 's3cret', OTHER: 'new', ADDED: 'added' });

    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    const env = (run.resultJson as { env: Record<string, string> }).env;
    expect(env).toMatchObject({ SECRET: 's3cret', OTHER: 'new', ADDED: 'added' });
  });

  it('an http config keeps its header secrets the same way', async () => {
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url, headers: { 'x-api-key': 'k3y' } } });
    const read = await readConfig(agentId);
    expect(read.headers).toEqual({ 'x-api-key': MARKER });
    await writeConfig(agentId, { ...read, timeoutSec: 30 });
    const { runId } = await enqueue(server, { agentId });
    expect((await runFinished(server, runId!)).status).toBe('succeeded');
    await waitFor('the request', () => headers.find((h) => h['x-api-key'] === 'k3y'));
    expect(headers.some((h) => h['x-api-key'] === MARKER)).toBe(false);
  });

  it("an http url's query values are shown as markers, in the config and in the adapter.invoke event, and kept on write-back", async () => {
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/hook`;
    const url = `${base}?code=s3cr%2Bt&mode=fast&flag`;
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url } });
    const read = await readConfig(agentId);
    expect(read.url).toBe(`${base}?code=${MARKER}&mode=${MARKER}&flag`);
    await writeConfig(agentId, { ...read, timeoutSec: 30 });
    expect((await storedConfig(agentId)).url).toBe(url);

    const { runId } = await enqueue(server, { agentId });
    expect((await runFinished(server, runId!)).status).toBe('succeeded');
    expect(paths).toContain('/hook?code=s3cr%2Bt&mode=fast&flag');
    const events = await server.database.db.query.runEvents.findMany({ where: { runId: runId! } });
    expect(events.find((e) => e.eventType === 'adapter.invoke')?.payload).toMatchObject({ url: `${base}?code=${MARKER}&mode=${MARKER}&flag` });
    expect(JSON.stringify(events)).not.toContain('s3cr');

    // One value changed, the secret sent back as read (even percent-encoded by a URL builder).
    await writeConfig(agentId, { url: `${base}?code=${encodeURIComponent(MARKER)}&mode=slow` });
    expect((await storedConfig(agentId)).url).toBe(`${base}?code=s3cr%2Bt&mode=slow`);
  });

  it('a marker with no stored secret behind it is refused and changes nothing', async () => {
    const agentId = await createAgent(server, {
      adapterType: 'process',
      adapterConfig: { command: process.execPath, env: { SECRET: 's3cret' } },
    });
    const before = await storedConfig(agentId);
    const error = await writeConfig(agentId, { command: 'other', env: { SECRET: MARKER, NEW: MARKER } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLFailure);
    expect((error as GraphQLFailure).code).toBe('BAD_USER_INPUT');
    expect((error as GraphQLFailure).message).toContain('adapterConfig.env.NEW');
    expect(await storedConfig(agentId)).toEqual(before);
    // In an http url's query: a parameter the stored url does not have.
    const hook = await createAgent(server, { adapterType: 'http', adapterConfig: { url: 'http://127.0.0.1:9/hook?code=abc' } });
    const urlError = await writeConfig(hook, { url: `http://127.0.0.1:9/hook?code=${MARKER}&token=${MARKER}` }).catch((e: unknown) => e);
    expect((urlError as GraphQLFailure).code).toBe('BAD_USER_INPUT');
    expect((urlError as GraphQLFailure).message).toContain('query parameter "token"');
    expect((await storedConfig(hook)).url).toBe('http://127.0.0.1:9/hook?code=abc');
    // Creating from a config copied off another agent: there is nothing to restore either.
    const created = await createAgent(server, { adapterType: 'process', adapterConfig: { command: 'x', env: { SECRET: MARKER } } }).catch((e: unknown) => e);
    expect((created as GraphQLFailure).code).toBe('BAD_USER_INPUT');
  });
});
