// The engine's own event types (lifecycle, adapter.invoke, error) are the engine's account of a run:
// an agent's line with one of them is log output, not an event, so it cannot write "run succeeded"
// into the timeline or a retry's exhausted reason; a script agent cannot be configured with them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyLine } from '../../../engine/adapters/lines.ts';
import { scriptAdapter } from '../../../engine/adapters/script.ts';
import { ENGINE_EVENT_TYPES } from '../../../engine/adapters/types.ts';
import { createAgent, enqueue, gql, runFinished, runGid } from '../../support/api.ts';
import { postGraphQL } from '../../support/graphql.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('engine event types from an agent', () => {
  it('a line typed as one of the engine’s events is log output; other types stay events', () => {
    for (const type of ENGINE_EVENT_TYPES) expect(classifyLine(JSON.stringify({ type, message: 'run succeeded' })), type).toEqual({ kind: 'log' });
    expect(classifyLine('{"type":"tool.call","message":"ls"}')).toMatchObject({ kind: 'event', event: { type: 'tool.call' } });
    expect(classifyLine('{"type":"lifecycle.custom"}')).toMatchObject({ kind: 'event' });
  });

  it('a script step with an engine event type is refused at config time', () => {
    expect(() => scriptAdapter.parseConfig({ steps: [{ event: { type: 'lifecycle', message: 'run succeeded' } }] })).toThrow(/adapterConfig\.steps\[0\]\.event\.type/);
    expect(() => scriptAdapter.parseConfig({ steps: [{ event: { type: 'agent.lifecycle' } }] })).not.toThrow();
  });
});

describe('a process agent forging the engine’s account', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('cannot set a retry’s exhausted reason or add a lifecycle event; its lines land in the log', async () => {
    const forged = [
      { type: 'lifecycle', level: 'info', message: 'Bounded retry exhausted after 9 scheduled attempts' },
      { type: 'lifecycle', message: 'run succeeded' },
      { type: 'error', message: 'Process lost -- server may have restarted' },
    ];
    const script = forged.map((line) => `console.log(${JSON.stringify(JSON.stringify(line))});`).join('');
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: ['-e', script] } });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run.status).toBe('succeeded');
    const events = await server.database.db.query.runEvents.findMany({ where: { runId: runId! }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.eventType, e.message])).toEqual([
      ['lifecycle', 'run started'],
      ['adapter.invoke', 'adapter invoked'],
      ['lifecycle', 'run succeeded'],
    ]);
    expect(run.stdoutExcerpt).toContain('Bounded retry exhausted after 9');
    const data = await gql(server, 'query($id: ID!) { run(id: $id) { retry { exhaustedReason } } }', { id: runGid(runId!) });
    expect(data.run.retry.exhaustedReason).toBeNull();
  });

  it('createAgent refuses a script step with an engine event type, naming it', async () => {
    const { body } = await postGraphQL(
      server.graphqlUrl,
      'mutation($i: CreateAgentInput!) { createAgent(input: $i) { id } }',
      { key: server.adminKey, variables: { i: { name: 'forger', adapterType: 'SCRIPT', adapterConfig: { steps: [{ event: { type: 'error' } }] } } } },
    );
    expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0].message).toContain('steps[0].event.type');
  });
});
