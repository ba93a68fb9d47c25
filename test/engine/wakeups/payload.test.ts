// enqueueWakeup's payload reaches the run: as `context.payload` on a process agent's stdin and in
// an http agent's request body, in a namespace of its own, so it cannot overwrite the engine's keys.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, GraphQLFailure, issueGid, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const ECHO = fileURLToPath(new URL('../../fixtures/agents/echo-agent.mjs', import.meta.url));
const PAYLOAD = { foo: 'bar', nested: { n: [1, 2] }, taskKey: 'tk', wakeReason: 'forged', wakeSource: 'forged' };

describe('wakeup payload', () => {
  let server: TestServer;
  let http: Server;
  const bodies: Array<Record<string, any>> = [];
  beforeAll(async () => {
    server = await startTestServer();
    http = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        bodies.push(JSON.parse(text));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"result":{"ok":true}}');
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  it('a process agent reads the payload on stdin as context.payload; the engine keys stay its own', async () => {
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [ECHO] } });
    const { runId } = await enqueue(server, { agentId, reason: 'deploy', payload: PAYLOAD });
    const run = await runFinished(server, runId!);
    expect(run.status).toBe('succeeded');
    const { context } = (run.resultJson as { stdin: { context: Record<string, unknown> } }).stdin;
    expect(context.payload).toEqual(PAYLOAD);
    // The payload's look-alikes did not replace what the engine derived from the request.
    expect(context).toMatchObject({ wakeReason: 'deploy', wakeSource: 'on_demand', taskKey: 'tk' });
  });

  it('a payload.issueId that is no issue id is BAD_USER_INPUT (it routes the wakeup), and writes nothing', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [] } });
    for (const issueId of ['forged', issueGid('00000000-0000-4000-8000-000000000000')]) {
      const error = await enqueue(server, { agentId, payload: { issueId } }).catch((e: unknown) => e);
      expect((error as GraphQLFailure).code).toBe('BAD_USER_INPUT');
      expect((error as GraphQLFailure).errors[0].extensions).toMatchObject({ field: 'payload.issueId' });
    }
    expect(await server.database.db.query.wakeupRequests.findMany({ where: { agentId } })).toEqual([]);
  });

  it('an http agent gets it in the request body', async () => {
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/agent`;
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url } });
    const { runId } = await enqueue(server, { agentId, reason: 'deploy', payload: { foo: 'http-bar' } });
    expect((await runFinished(server, runId!)).status).toBe('succeeded');
    const body = await waitFor('the request body', () => bodies.find((b) => b.context?.payload?.foo === 'http-bar'));
    expect(body.context).toMatchObject({ wakeReason: 'deploy', payload: { foo: 'http-bar' } });
  });
});
